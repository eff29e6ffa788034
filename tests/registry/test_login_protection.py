"""Logins and API tokens against guessing: a lockout per (account, address) (django-axes), the client
address from a trusted proxy's header only, a platform admin lifting a lock, and failed API token
attempts throttled per address with Retry-After."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str, **meta):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def logged_in(response) -> bool:
    return response.status_code == 302 and "sessionid" in response.cookies


def test_thirty_wrong_passwords_lock_that_account_from_that_address_only(world):
    from registry.models import SecurityEvent

    attacker = Client()
    answers = [attempt(attacker, "reg_manager", f"guess-{n}", REMOTE_ADDR="203.0.113.9").status_code
               for n in range(30)]
    assert answers[:4] == [200] * 4  # the form again, with its error
    assert set(answers[5:]) == {429}
    locked = attempt(attacker, "reg_manager", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert locked.status_code == 429 and not logged_in(locked)
    assert int(locked["Retry-After"]) == 15 * 60
    assert "Too many failed logins" in locked.content.decode()
    # On the security log: the lockout, and each attempt refused while it lasts.
    lockouts = set(SecurityEvent.objects.filter(kind="locked_out").values_list("username", "client"))
    assert lockouts == {("reg_manager", "203.0.113.9")}
    # Nobody can lock the regulator out from elsewhere: its own address still logs in.
    assert logged_in(attempt(Client(), "reg_manager", PASSWORD, REMOTE_ADDR="198.51.100.4"))
    # Another account from the attacker's address is not locked either.
    assert logged_in(attempt(Client(), "a_manager", PASSWORD, REMOTE_ADDR="203.0.113.9"))


def test_the_proxys_header_counts_only_from_a_trusted_proxy(world, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    for n in range(5):
        attempt(Client(), "a_manager", f"guess-{n}", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    # Through the proxy: the client it names is locked, another client behind it is not.
    assert attempt(Client(), "a_manager", PASSWORD, REMOTE_ADDR="127.0.0.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert logged_in(attempt(Client(), "a_manager", PASSWORD, REMOTE_ADDR="127.0.0.1",
                             HTTP_X_FORWARDED_FOR="198.51.100.4"))
    # From an address that is no trusted proxy the header is ignored: no escaping a lock by naming another.
    for n in range(5):
        attempt(Client(), "b_manager", f"guess-{n}", REMOTE_ADDR="192.0.2.77", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert attempt(Client(), "b_manager", PASSWORD, REMOTE_ADDR="192.0.2.77",
                   HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_a_platform_admin_lifts_a_lock(world, user_client):
    from axes.models import AccessAttempt

    for n in range(5):
        attempt(Client(), "grid_manager", f"guess-{n}", REMOTE_ADDR="203.0.113.20")
    assert attempt(Client(), "grid_manager", PASSWORD, REMOTE_ADDR="203.0.113.20").status_code == 429
    [lock] = AccessAttempt.objects.filter(username="grid_manager")
    admin = user_client("admin")
    assert admin.get("/admin/axes/accessattempt/").status_code == 200
    assert user_client("reg_manager").get("/admin/axes/accessattempt/").status_code in (302, 403)
    response = admin.post(f"/admin/axes/accessattempt/{lock.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert logged_in(attempt(Client(), "grid_manager", PASSWORD, REMOTE_ADDR="203.0.113.20"))


@pytest.fixture
def no_failures_counted():
    from django.core.cache import cache

    addresses = ["token-failures:203.0.113.30", "token-failures:198.51.100.30"]
    cache.delete_many(addresses)
    yield
    cache.delete_many(addresses)


def test_failed_api_tokens_are_throttled_per_address_with_retry_after(world, settings, no_failures_counted):
    from registry import services
    from registry.models import User

    settings.TOKEN_FAILURE_LIMIT = 5
    _, key = services.api_token_create(actor=User.objects.get(username="a_manager"), name="throttle test")
    client = Client()
    statuses = [client.get("/api/piles/", HTTP_AUTHORIZATION=f"Token wrong-{n}", REMOTE_ADDR="203.0.113.30").status_code
                for n in range(5)]
    assert statuses == [401] * 5
    throttled = client.get("/api/piles/", HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="203.0.113.30")
    assert throttled.status_code == 429 and 0 < int(throttled["Retry-After"]) <= settings.TOKEN_FAILURE_WINDOW_S
    assert throttled.json()["error"]["status"] == 429
    # Another address with the valid token is served.
    assert client.get("/api/piles/", HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR="198.51.100.30").status_code == 200
