"""A pile's operational state on a node: the selectors (bounded queries, SQL and Python agree), the
registry's pages and API showing the same state, and who sees which part (issue #17, section 4).

The fleet, on top of the world fixture:
    PILE-A1  OP-A, active, public: reported Faulted (a fault and its work order on the ledger), then
             Available again: the registry's "Active" and the live "Available" must not hide the fault
    PILE-A2  OP-A, planned, public: connected and faulting, as the live path reported it from OP-A
    PILE-A3  OP-A, active, dedicated (not public): connected and available
    PILE-B1  OP-B, active, public: one connector charging, one available
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring import ingest
from monitoring.models import ConnectorState, PileState, WorkOrder
from monitoring.selectors import operational
from registry import pile_states, services
from registry.models import Pile
from tests.utils.ledger import commit_all, commit_pending

pytestmark = pytest.mark.django_db

USERS = ("a_viewer", "b_manager", "grid_manager", "grid2_manager", "metro_manager", "reg_manager", "admin")
# What each sees: the operator, the regulator, metrology and AREA-1's grid company see PILE-A1's open
# fault; OP-B and AREA-2's grid company see only its public live state. PILE-A3 is dedicated: its
# live state is as private as its private fields.
FULL = {"PILE-A1": "faulted", "PILE-A2": "faulted", "PILE-A3": "available", "PILE-B1": "available"}
EXPECTED = {
    "a_viewer": FULL, "grid_manager": FULL, "metro_manager": FULL, "reg_manager": FULL, "admin": FULL,
    "b_manager": {**FULL, "PILE-A1": "available", "PILE-A3": "unknown"},
    "grid2_manager": {**FULL, "PILE-A1": "available", "PILE-A3": "unknown"},
}


def _live(code, *statuses, source="", seen=None, online=True):
    pile = Pile.objects.get(code=code)
    now = timezone.now()
    PileState.objects.update_or_create(pile=pile, defaults={
        "last_seen_at": seen or now, "online": online, "online_at": now - dt.timedelta(hours=1), "source": source,
        "received_at": now,
    })
    for connector_id, status in enumerate(statuses, start=1):
        ConnectorState.objects.update_or_create(pile=pile, connector_id=connector_id, defaults={
            "status": status, "status_at": now, "source": source, "power_w": Decimal("7000"),
        })


@pytest.fixture
def fleet(world):
    admin = world.users["admin"]
    services.pile_register(actor=admin, station="ST-A", code="PILE-A2", kind="ac", rated_power_kw=Decimal("7"),
                           accuracy_class=2, status="planned", connectors=[{"connector_id": 1, "standard": "gbt_ac"}])
    services.pile_register(actor=admin, station="ST-A", code="PILE-A3", kind="ac", rated_power_kw=Decimal("7"),
                           accuracy_class=2, status="active", commissioned_on=dt.date(2025, 1, 1), public=False,
                           connectors=[{"connector_id": 1, "standard": "gbt_ac"}])
    commit_all()
    t0 = timezone.now() - dt.timedelta(minutes=5)
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code="GroundFailure", info="",
                         timestamp=t0, source="ocpp1.6")
    commit_pending()
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Available", error_code="NoError", info="",
                         timestamp=t0 + dt.timedelta(minutes=1), source="ocpp1.6")
    _live("PILE-A2", "Faulted", source="OP-A")
    _live("PILE-A3", "Available")
    _live("PILE-B1", "Charging", "Available", source="OP-B")
    assert WorkOrder.objects.filter(pile__code="PILE-A1", state="opened").count() == 1
    return world


def _seen(username, world):
    user = world.users[username]
    piles = list(Pile.objects.restrict(user).order_by("code"))
    return {pile.code: state.state for pile, state in
            ((p, operational.pile_states(user=user, piles=piles)[p.pk]) for p in piles)}


@pytest.mark.parametrize("username", USERS)
def test_each_principal_sees_the_state_its_parts_make(fleet, username):
    assert _seen(username, fleet) == EXPECTED[username]


@pytest.mark.parametrize("username", USERS)
def test_sql_filter_and_counts_agree_with_the_rule(fleet, username):
    user = fleet.users[username]
    piles = Pile.objects.restrict(user)
    by_rule = {pile.code: s.state for pile in piles for s in [operational.pile_state(user=user, pile=pile)]}
    for state in operational.rule.STATES:
        in_sql = set(operational.filter_piles(piles, user=user, states=[state]).values_list("code", flat=True))
        assert in_sql == {code for code, s in by_rule.items() if s == state}, state
    counts = operational.state_counts(piles, user=user)
    assert counts == {s: sum(1 for v in by_rule.values() if v == s) for s in operational.rule.STATES}


def test_silent_offline_and_compliance_in_sql_and_python(fleet):
    """The other rows, on the same piles: silent -> unknown, offline, a failed meter."""
    from calibration import services as calibration_services
    from tests.calibration.helpers import ALL_OK, box_record

    user = fleet.users["reg_manager"]
    _live("PILE-A3", "Available", seen=timezone.now() - operational.silence_window() - dt.timedelta(seconds=5))
    _live("PILE-B1", "Charging", "Available", source="OP-B", online=False)
    Pile.objects.filter(code="PILE-A1").update(status="retired")
    calibration_services.record_file(fleet.users["metro_manager"], kind="first", observations=ALL_OK,
                                     record=box_record(sequence=1, pile="PILE-A2", indicated=(1_000_000, 1_025_000, 500_000)))
    commit_pending()
    expected = {"PILE-A1": "retired", "PILE-A2": "faulted", "PILE-A3": "unknown", "PILE-B1": "offline"}
    assert _seen("reg_manager", fleet) == expected
    ConnectorState.objects.filter(pile__code="PILE-A2").update(status="Available")
    assert _seen("reg_manager", fleet)["PILE-A2"] == "not_commissioned"
    Pile.objects.filter(code="PILE-A2").update(status="active")
    assert _seen("reg_manager", fleet)["PILE-A2"] == "not_compliant"
    piles = Pile.objects.all()
    for state in ("retired", "not_compliant", "unknown", "offline"):
        assert list(operational.filter_piles(piles, user=user, states=[state]).values_list("code", flat=True)) == \
            [code for code, s in _seen("reg_manager", fleet).items() if s == state]
    # OP-B may not see PILE-A2's calibration: its public live state makes it available.
    assert _seen("b_manager", fleet)["PILE-A2"] == "available"


def test_parts_carry_their_source_and_time(fleet):
    user = fleet.users["reg_manager"]
    a1 = operational.pile_state(user=user, pile=Pile.objects.get(code="PILE-A1"))
    parts = {(p.part, p.connector_id): p for p in a1.parts}
    assert parts[("registry", None)].source_label == "registry" and parts[("registry", None)].height
    assert parts[("registry", None)].at is not None  # the block's time
    assert parts[("connection", None)].source_label == "live: this node's gateway"
    assert parts[("connector", 1)].value == "Available" and parts[("connector", 1)].at is not None
    faults = parts[("faults", None)]
    assert (faults.count, faults.source, faults.visible) == (1, "ledger", True) and faults.at is not None
    assert parts[("work_orders", None)].count == 1
    assert parts[("calibration", None)].value == "unverified"
    a2 = operational.pile_state(user=user, pile=Pile.objects.get(code="PILE-A2"))
    assert a2.warnings == ("live_while_planned",)
    assert {p.source_label for p in a2.parts if p.source == "live"} == {"live: reported by OP-A"}


def test_another_operator_sees_only_the_public_parts(fleet):
    b = fleet.users["b_manager"]
    a1 = operational.pile_state(user=b, pile=Pile.objects.get(code="PILE-A1"))
    hidden = {p.part for p in a1.parts if not p.visible}
    assert hidden == {"faults", "work_orders", "calibration"}
    assert all(p.count is None and p.at is None and p.value == "" for p in a1.parts if not p.visible)
    a3 = operational.pile_state(user=b, pile=Pile.objects.get(code="PILE-A3"))
    assert {p.part for p in a3.parts if not p.visible} == {"connection", "faults", "work_orders", "calibration"}
    assert not [p for p in a3.parts if p.part == "connector"]


def test_a_list_costs_a_fixed_number_of_queries(fleet, django_assert_max_num_queries):
    admin = fleet.users["admin"]
    services.pile_register(actor=admin, station="ST-B", code="PILE-B2", kind="dc", rated_power_kw=Decimal("60"),
                           accuracy_class=1, status="active", commissioned_on=dt.date(2025, 1, 1),
                           connectors=[{"connector_id": 1, "standard": "gbt_dc"}])
    commit_all()
    _live("PILE-B2", "Available", source="OP-B")
    user = fleet.users["grid_manager"]
    piles = list(Pile.objects.all())
    assert len(piles) == 5
    with django_assert_max_num_queries(7):
        operational.pile_states(user=user, piles=piles)
    with django_assert_max_num_queries(7):
        operational.pile_states(user=user, piles=piles[:1])
    with django_assert_max_num_queries(1):
        list(operational.filter_piles(Pile.objects.all(), user=user, states=["faulted", "unknown"]))
    with django_assert_max_num_queries(1):
        operational.state_counts(Pile.objects.all(), user=user)


def test_unknown_state_is_refused():
    with pytest.raises(ValueError):
        operational.state_q("fine", user=None)


# --- pages and API ----------------------------------------------------------------------------------
def _badges(html: str) -> dict[str, str]:
    """pile code -> the operational state shown in a list (rows link the code, then show the badge)."""
    import re

    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        code = re.search(r'href="/registry/piles/([^/"]+)/"', row)
        state = re.search(r'data-operational-state="([a-z_]+)"', row)
        if code and state:
            found[code.group(1)] = state.group(1)
    return found


@pytest.mark.parametrize("username", ["a_viewer", "b_manager", "grid2_manager", "reg_manager"])
def test_pages_and_api_show_the_same_state(fleet, user_client, api_client, username):
    expected = EXPECTED[username]
    client = user_client(username)
    assert _badges(client.get("/registry/piles/").content.decode()) == expected
    st_a = _badges(client.get("/registry/stations/ST-A/").content.decode())
    assert st_a == {code: s for code, s in expected.items() if code.startswith("PILE-A")}
    for code, state in expected.items():
        detail = client.get(f"/registry/piles/{code}/").content.decode()
        assert f'data-operational-state="{state}"' in detail and 'id="operational-state"' in detail
    api = api_client(username)
    listed = api.get("/api/piles/").json()["results"]
    assert {p["code"]: p["operational_state"]["state"] for p in listed} == expected
    one = api.get("/api/piles/PILE-A1/").json()["operational_state"]
    assert one["state"] == expected["PILE-A1"]
    for state in set(expected.values()):
        page = client.get("/registry/piles/", {"operational_state": state}).content.decode()
        assert set(_badges(page)) == {c for c, s in expected.items() if s == state}
        api_page = api.get("/api/piles/", {"operational_state": state}).json()["results"]
        assert {p["code"] for p in api_page} == {c for c, s in expected.items() if s == state}


def test_competitor_pages_and_api_carry_no_private_part(fleet, user_client, api_client):
    detail = user_client("a_viewer").get("/registry/piles/PILE-A1/").content.decode()
    assert 'data-part="faults"' in detail and "Critical" in detail
    competitor = user_client("b_manager").get("/registry/piles/PILE-A1/").content.decode()
    assert "Not shown to you" in competitor and "GroundFailure" not in competitor
    body = api_client("b_manager").get("/api/piles/PILE-A1/").json()["operational_state"]
    hidden = [p for p in body["parts"] if not p["visible"]]
    assert {p["part"] for p in hidden} == {"faults", "work_orders", "calibration"}
    assert all(p["count"] is None and p["at"] is None and p["detail"] == "" for p in hidden)
    assert "GroundFailure" not in str(body)


def test_bad_filter_value_is_an_error(fleet, api_client, user_client):
    response = api_client("a_viewer").get("/api/piles/", {"operational_state": "fine"})
    assert response.status_code == 400
    page = user_client("a_viewer").get("/registry/piles/", {"operational_state": "fine"})
    assert page.status_code == 200  # the list shows the form's error


def test_schema_documents_the_field(fleet, api_client):
    schema = api_client("a_viewer").get("/api/schema/", {"format": "json"}).json()
    pile = schema["components"]["schemas"]["Pile"]["properties"]["operational_state"]
    assert pile.get("readOnly") or "allOf" in pile or "$ref" in pile or pile.get("nullable")
    assert "OperationalState" in schema["components"]["schemas"]
    params = {p["name"] for p in schema["paths"]["/api/piles/"]["get"]["parameters"]}
    assert "operational_state" in params


def test_provider_is_installed_and_the_api_names_the_rules_vocabulary():
    from registry.api.serializers import OperationalPartSerializer, OperationalStateSerializer

    assert [value for value, _ in pile_states.choices()] == list(operational.rule.STATES)
    assert list(OperationalStateSerializer().fields["state"].choices) == list(operational.rule.STATES)
    assert set(OperationalPartSerializer().fields["part"].choices) == set(operational.PART_LABELS)
    warnings = OperationalStateSerializer().fields["warnings"].child.fields["code"].choices
    assert set(warnings) == set(operational.WARNING_LABELS)


def test_home_counts_and_monitoring_lists_show_the_same_state(fleet, user_client):
    import re

    home = user_client("a_viewer").get("/").content.decode()
    counts = dict(re.findall(r'data-operational-count="([a-z_]+)">(?:<a [^>]*>)?(\d+)', home))
    assert (counts["faulted"], counts["available"], counts["charging"]) == ("2", "1", "0")
    assert 'href="/registry/piles/?operator=OP-A&amp;operational_state=faulted"' in home
    reg = user_client("reg_manager").get("/").content.decode()
    counts = dict(re.findall(r'data-operational-count="([a-z_]+)">(?:<a [^>]*>)?(\d+)', reg))
    assert (counts["faulted"], counts["available"]) == ("2", "2")
    competitor = dict(re.findall(r'data-operational-count="([a-z_]+)">(?:<a [^>]*>)?(\d+)',
                                 user_client("b_manager").get("/").content.decode()))
    assert competitor["available"] == "1"  # its own PILE-B1 only
    availability = user_client("a_viewer").get("/monitoring/availability/").content.decode()
    rows = re.findall(r'<a href="/registry/piles/([^/"]+)/">[^<]+</a></td><td><span class="badge[^"]*" '
                      r'data-operational-state="([a-z_]+)"', availability)
    assert dict(rows) == {code: s for code, s in FULL.items() if code.startswith("PILE-A")}
    orders = user_client("a_viewer").get("/monitoring/work-orders/").content.decode()
    assert '<a href="/registry/piles/PILE-A1/">PILE-A1</a>' in orders


def test_calibration_list_shows_the_same_state(fleet, user_client):
    import re

    for username in ("a_viewer", "reg_manager"):
        page = user_client(username).get("/calibration/").content.decode()
        rows = dict(re.findall(r'<tr data-pile="([^"]+)">.*?data-operational-state="([a-z_]+)"', page, flags=re.S))
        assert rows == {code: s for code, s in EXPECTED[username].items()
                        if username != "a_viewer" or code.startswith("PILE-A")}
        assert '<a href="/registry/piles/PILE-A1/">PILE-A1</a>' in page
