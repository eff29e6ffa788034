"""The OpenAPI schema, and the demo seed."""

import stat

import pytest
from django.core.management import call_command

from tests.utils.ledger import commit_all, configure_node

pytestmark = pytest.mark.django_db

DEMO_MEMBERS = {
    "OPERATOR-A": ("Operator A", "operator"),
    "METROLOGY": ("Metrology", "metrology"),
    "GRID": ("Grid", "grid"),
    "REGULATOR": ("Regulator", "regulator"),
}


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
    assert not GENERATOR_STATS._warn_cache, dict(GENERATOR_STATS._warn_cache)  # e.g. two components of one name
    lists = {"/api/settlement/sessions/": "PaginatedSessionList", "/api/settlement/statements/": "PaginatedStatementList",
             "/api/settlement/tariffs/": "PaginatedTariffList", "/api/subsidy/claims/": "PaginatedClaimList"}
    for path, component in lists.items():  # a page at a time, like the registry's lists
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{component}"}, path
    for path, pages in (("/api/settlement/statements/{uid}/", "items_page"), ("/api/subsidy/claims/{uid}/", "lines_page")):
        ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert pages in schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]["properties"], path
    for path in ("/api/piles/", "/api/piles/{code}/", "/api/stations/", "/api/grid-areas/", "/api/connectors/",
                 "/api/test-boxes/", "/api/device-keys/", "/api/device-keys/{fingerprint}/revoke/",
                 "/api/institutions/"):
        assert path in schema["paths"], path
    writes = {"/api/settlement/tariffs/", "/api/settlement/service-fees/", "/api/settlement/terms/",
              "/api/settlement/area-meters/", "/api/settlement/closings/",
              "/api/settlement/statements/{uid}/confirm/", "/api/settlement/statements/{uid}/dispute/",
              "/api/settlement/statements/{uid}/correct/", "/api/subsidy/claims/", "/api/subsidy/claims/{uid}/decision/"}
    for path in writes:  # documented with the 202 of ledger.api.accepted and the one error body
        responses = schema["paths"][path]["post"]["responses"]
        assert responses["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Accepted"}
        assert responses["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    for path in ("/api/settlement/statements/{uid}/exports/", "/api/settlement/jobs/close-areas/"):
        assert schema["paths"][path]["post"]["responses"]["202"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Job"}
    assert "/api/settlement/jobs/{uid}/download/" in schema["paths"]
    assert "apiToken" in schema["components"]["securitySchemes"]


def test_seed_demo_goes_through_the_ledger_and_is_idempotent(settings, monkeypatch, tmp_path, capsys):
    """One node that signs for all four demo members, committing each step in-process."""
    from ledger.models import CommittedTx
    from ledger.runtime import node
    from registry.models import DeviceKey, FieldTestBox, Institution, Pile, User

    configure_node(settings=settings, monkeypatch=monkeypatch, directory=tmp_path, members=DEMO_MEMBERS,
                   me="OPERATOR-A")
    settings.NODE_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    try:
        call_command("seed_demo", waiter=lambda subs: commit_all())
        counts = (Institution.objects.count(), Pile.objects.count(), DeviceKey.objects.count(), User.objects.count())
        committed = CommittedTx.objects.count()
        call_command("seed_demo", waiter=lambda subs: commit_all())
    finally:
        node.reset_caches()
    assert counts == (Institution.objects.count(), Pile.objects.count(), DeviceKey.objects.count(),
                      User.objects.count())
    assert CommittedTx.objects.count() == committed  # the second run sent nothing
    assert set(CommittedTx.objects.values_list("status", flat=True)) == {"applied"}
    assert counts[0] == 4 and counts[1] == 6 and FieldTestBox.objects.count() == 2
    assert all(p.height for p in Pile.objects.all())
    output = capsys.readouterr().out
    for login in ("admin", "operator_a", "metrology", "grid", "regulator"):
        assert login in output
    assert User.objects.get(username="operator_a").check_password("pilechain-demo")
    keys = list((tmp_path / "devices").glob("*.pem"))
    assert len(keys) == DeviceKey.objects.count()
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in keys)
    assert all("PRIVATE KEY" in path.read_text() for path in keys)
    assert {p.kind for p in Pile.objects.all()} == {"ac", "dc"}
    # One dedicated pile (a fleet depot's), so the demo shows what public means for subsidies.
    assert list(Pile.objects.filter(public=False).values_list("code", flat=True)) == ["SHA-ZJ-AC02"]


def test_seed_demo_gives_the_second_operator_its_own_stations_piles_and_staff(settings, monkeypatch, tmp_path):
    """The run command's consortium has two competing operators: each node seeds only what its own
    institution signs for, and OPERATOR-B's piles are its own (one of its stations shares an area
    with OPERATOR-A's)."""
    from ledger.runtime import node
    from registry.models import Pile, Station, User

    members = {**DEMO_MEMBERS, "OPERATOR-B": ("Operator B", "operator")}
    configure_node(settings=settings, monkeypatch=monkeypatch, directory=tmp_path, members=members, me="OPERATOR-B")
    settings.NODE_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    try:
        call_command("seed_demo", waiter=lambda subs: commit_all())
    finally:
        node.reset_caches()
    by_operator = {}
    for code, operator in Pile.objects.values_list("code", "station__operator__code"):
        by_operator.setdefault(operator, set()).add(code)
    assert by_operator["OPERATOR-B"] == {"SHB-LJZ-DC01", "SHB-LJZ-AC01", "SHB-XJH-DC01", "SHB-XJH-AC01"}
    assert len(by_operator["OPERATOR-A"]) == 6
    shared = set(Station.objects.filter(operator__code="OPERATOR-A").values_list("grid_area__code", flat=True)) & set(
        Station.objects.filter(operator__code="OPERATOR-B").values_list("grid_area__code", flat=True))
    assert shared == {"SH-XH-XJH"}
    assert User.objects.get(username="operator_b").institution.code == "OPERATOR-B"
    assert User.objects.get(username="operator_b_eng").staff_role == "engineer"
