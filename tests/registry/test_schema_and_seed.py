"""The OpenAPI schema, and the demo seed."""

import stat

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_endpoint_and_validation(api_client, consortium):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    response = api_client("a_manager").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid document
    assert not GENERATOR_STATS._error_cache, dict(GENERATOR_STATS._error_cache)
    for path in ("/api/piles/", "/api/piles/{code}/", "/api/stations/", "/api/grid-areas/", "/api/connectors/",
                 "/api/test-boxes/", "/api/device-keys/", "/api/device-keys/{fingerprint}/revoke/",
                 "/api/institutions/"):
        assert path in schema["paths"], path
    assert "apiToken" in schema["components"]["securitySchemes"]


def test_seed_demo_is_idempotent(settings, tmp_path, capsys):
    settings.NODE_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from registry.models import DeviceKey, FieldTestBox, Institution, Pile, User

    call_command("seed_demo")
    counts = (Institution.objects.count(), Pile.objects.count(), DeviceKey.objects.count(), User.objects.count())
    call_command("seed_demo")
    assert counts == (Institution.objects.count(), Pile.objects.count(), DeviceKey.objects.count(),
                      User.objects.count())
    assert counts[0] == 5 and counts[1] >= 10 and FieldTestBox.objects.count() == 2
    output = capsys.readouterr().out
    for login in ("admin", "operator_a", "operator_b", "metrology", "grid", "regulator"):
        assert login in output
    assert User.objects.get(username="operator_a").check_password("pilechain-demo")
    keys = list((tmp_path / "devices").glob("*.pem"))
    assert len(keys) == DeviceKey.objects.count()
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in keys)
    assert all("PRIVATE KEY" in path.read_text() for path in keys)
    assert {p.kind for p in Pile.objects.all()} == {"ac", "dc"}
