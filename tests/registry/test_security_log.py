"""The security log: logins, failures, lockouts, second factors, API tokens, permission refusals and
key changes are recorded (and on the structured log); platform admins read, filter and export it."""

from __future__ import annotations

import pytest
from django.test import Client

from registry.models import SecurityEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def kinds(**filters) -> list[str]:
    return list(SecurityEvent.objects.filter(**filters).order_by("id").values_list("kind", flat=True))


@pytest.fixture
def no_failures_counted():
    from django.core.cache import cache

    cache.delete("token-failures:203.0.113.7")
    yield
    cache.delete("token-failures:203.0.113.7")


class Collected(list):
    """The structured log's records of pilechain.security, as a handler of that logger sees them."""

    def __enter__(self):
        import logging

        self.handler = logging.Handler()
        self.handler.emit = self.append
        logging.getLogger("pilechain.security").addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        import logging

        logging.getLogger("pilechain.security").removeHandler(self.handler)


def test_what_people_and_programs_do_at_the_doors_is_recorded(world, settings, no_failures_counted):
    from registry import services
    from registry.models import ApiToken, User

    settings.TOKEN_FAILURE_LIMIT = 3
    before = SecurityEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0  # the world's own
    with Collected() as logged:
        client = Client()
        client.post("/accounts/login/", {"username": "a_manager", "password": "wrong"}, REMOTE_ADDR="203.0.113.5")
        client.post("/accounts/login/", {"username": "a_manager", "password": PASSWORD}, REMOTE_ADDR="203.0.113.5")
        assert client.get("/registry/piles/PILE-B1/edit/", REMOTE_ADDR="203.0.113.5").status_code == 403
        client.post("/accounts/logout/", REMOTE_ADDR="203.0.113.5")
        for n in range(5):
            Client().post("/accounts/login/", {"username": "b_manager", "password": f"x{n}"}, REMOTE_ADDR="203.0.113.6")
        manager = User.objects.get(username="a_manager")
        _, key = services.api_token_create(actor=manager, name="logged")
        services.api_token_revoke(actor=manager, token=ApiToken.objects.get(name="logged"))
        for n in range(3):
            Client().get("/api/piles/", HTTP_AUTHORIZATION=f"Token bad-{n}", REMOTE_ADDR="203.0.113.7")
    assert kinds(username="a_manager", id__gt=before) == ["login_failed", "login", "permission_denied", "logout", "token_created",
                                           "token_revoked"]
    denied = SecurityEvent.objects.get(kind="permission_denied")
    assert (denied.client, denied.path, denied.institution) == ("203.0.113.5", "/registry/piles/PILE-B1/edit/", "OP-A")
    assert sorted(kinds(username="b_manager")) == ["locked_out"] + ["login_failed"] * 5
    assert kinds(client="203.0.113.7") == ["token_throttled"]
    assert [r.event for r in logged] == kinds(id__gt=before)
    assert {r.levelname for r in logged if r.event == "locked_out"} == {"WARNING"}


def test_key_changes_and_second_factors_are_recorded(world, settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from registry import services, two_factor
    from registry.models import User

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    manager = User.objects.get(username="a_manager")
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    services.device_key_add(actor=manager, pile="PILE-A1", purpose="meter", public_key=pem)
    client = Client()
    client.force_login(manager)
    client.get("/accounts/two-factor/")
    client.post("/accounts/two-factor/", {"action": "confirm", "token": "000000"})
    assert kinds(username="a_manager")[-3:] == ["key_added", "login", "second_factor_failed"]
    assert two_factor.confirmed_device(manager) is None


def test_platform_admins_read_filter_and_export_it_and_nobody_else(world, user_client):
    Client().post("/accounts/login/", {"username": "reg_manager", "password": "wrong"}, REMOTE_ADDR="198.51.100.9")
    Client().post("/accounts/login/", {"username": "=HYPERLINK(\"http://x\")", "password": "w"}, REMOTE_ADDR="198.51.100.9")
    admin = user_client("admin")
    listing = admin.get("/admin/registry/securityevent/", {"kind__exact": "login_failed"})
    assert listing.status_code == 200 and "198.51.100.9" in listing.content.decode()
    event, formula = SecurityEvent.objects.filter(kind="login_failed").order_by("id")
    exported = admin.post("/admin/registry/securityevent/", {"action": "export_csv",
                                                            "_selected_action": [event.pk, formula.pk]})
    assert exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode().splitlines()
    assert lines[0].startswith("time,event,account") and "login_failed,reg_manager" in lines[1]
    import csv

    assert next(csv.reader([lines[2]]))[2].startswith("'=HYPERLINK")  # text to a spreadsheet, never a formula
    assert admin.get(f"/admin/registry/securityevent/{event.pk}/change/").status_code == 200  # read-only view
    assert user_client("reg_manager").get("/admin/registry/securityevent/").status_code in (302, 403)
