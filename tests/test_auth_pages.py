"""Login, logout and password reset by e-mail (the console backend in development; locmem here)."""

import re

import pytest
from django.core import mail

from registry.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "old-password-for-tests-1"


@pytest.fixture
def member(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return User.objects.create_user("resetme", email="resetme@example.org", password=PASSWORD)


def test_login_then_logout(client, member):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'id="login-button"' in page.content
    wrong = client.post("/accounts/login/", {"username": "resetme", "password": "nope"})
    assert wrong.status_code == 200 and b"errorlist" in wrong.content
    assert client.post("/accounts/login/", {"username": "resetme", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code in (200, 302)
    assert client.get("/").status_code == 302  # back to the login page


def test_password_reset_by_email(client, member):
    sent = client.post("/accounts/password_reset/", {"email": "resetme@example.org"})
    assert sent.status_code == 302
    assert len(mail.outbox) == 1 and "resetme" in mail.outbox[0].body
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b"new_password1" in form.content
    done = client.post(form.redirect_chain[-1][0] if form.redirect_chain else link,
                       {"new_password1": "brand-new-pass-words-9", "new_password2": "brand-new-pass-words-9"})
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.check_password("brand-new-pass-words-9")


def test_unknown_address_sends_nothing_and_says_the_same(client, member):
    sent = client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert sent.status_code == 302 and mail.outbox == []
