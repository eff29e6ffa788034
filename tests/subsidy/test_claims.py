"""Subsidy policies, claims and decisions over a simulated month, through services and the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ledger.models import CommittedTx, NodeState
from ledger.services import node_submit
from subsidy import services
from subsidy.models import Claim, ClaimExclusion, ClaimLine, Policy
from tests.settlement.month import Month, local
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

POLICY = dict(valid_from="2030-01", per_kwh_cny="0.2000", construction_per_kw_cny="100.00",
              min_availability="0.900000", cap_per_pile_year_cny="5000.00", cap_per_operator_year_cny="100000.00")


def publish(world, **changes):
    services.policy_publish(world.users["reg_manager"], **{**POLICY, **changes})
    return commit_pending(at=local(2030, 1, 2))


@pytest.fixture
def month(world):
    m = Month(world)
    publish(world)
    m.prepare()
    m.sessions = m.play()
    return m


def test_only_the_regulator_publishes_and_versions_follow(world):
    with pytest.raises(PermissionDenied):
        services.policy_publish(world.users["a_manager"], **POLICY)
    with pytest.raises(ValidationError):
        services.policy_publish(world.users["reg_manager"], **{**POLICY, "per_kwh_cny": "abc"})
    publish(world)
    publish(world, per_kwh_cny="0.2500", valid_from="2030-06")
    assert list(Policy.objects.order_by("version").values_list("version", "per_kwh_cny")) == [
        (1, Decimal("0.2000")), (2, Decimal("0.2500"))]
    # A forged version number and an operator's node signing are refused by the contract itself.
    bad = node_submit(type="subsidy.policy_publish", payload={**POLICY, "version": 7, "note": ""}, institution="REG",
                      check=False)
    forged = node_submit(type="subsidy.policy_publish", payload={**POLICY, "version": 3, "note": ""},
                         institution="OP-A", check=False)
    commit_pending(at=local(2030, 1, 3))
    assert CommittedTx.objects.get(tx_id=bad.tx_id).reason == "the next policy version is 3"
    assert "operator institution may not" in CommittedTx.objects.get(tx_id=forged.tx_id).reason


def test_month_claim_excludes_each_fraud_with_its_reason(month, world):
    month.report_availability()
    services.claim_submit(world.users["a_manager"], period="2030-03")
    block = commit_pending(at=local(2030, 4, 2))
    claim = Claim.objects.get(operator__code="OP-A")
    [line] = claim.lines.all()
    # Counted: 6000 + 5000 + 1000 + 2000 (the March share of the month-end session) = 14000 Wh.
    assert (line.sessions, line.energy_wh) == (4, 14000)
    assert line.availability == Decimal("1.000000")
    assert line.operating_cny == Decimal("2.80")  # 14 kWh x 0.2000
    assert line.construction_cny == Decimal("700.00")  # 7 kW x 100.00, compliant at the month's end
    assert line.amount_cny == Decimal("702.80") and claim.eligible_cny == Decimal("702.80")
    s = month.sessions
    got = {(e.session, e.reason, e.energy_wh) for e in ClaimExclusion.objects.filter(line=line)}
    assert got == {
        (s["above_rated"], "power_above_rated", 7001),
        (s["overlapping"], "overlapping", 3000),
        (s["bad_signature"], "signature_failed", 4000),
        (s["above_meter"], "energy_above_meter", 2000),
        (s["held_non_compliant"], "non_compliant", 3000),
    }
    assert line.excluded_wh == 19001
    assert [(st.action, st.height) for st in claim.steps.all()] == [("submitted", block.height)]

    # OP-B's pile was never online (its daily reports show no minute up): all its energy is held as
    # such, though it had no verification either.
    services.claim_submit(world.users["b_manager"], period="2030-03")
    commit_pending(at=local(2030, 4, 2, 1))
    b_line = ClaimLine.objects.get(pile__code="PILE-B1")
    assert (b_line.energy_wh, b_line.amount_cny, b_line.construction_cny) == (0, Decimal("0.00"), Decimal("0.00"))
    assert list(b_line.exclusions.values_list("session", "reason", "energy_wh")) == [
        (s["never_online"], "never_online", 50000)]


def test_second_claim_for_the_same_pile_and_period_is_refused(month, world):
    month.report_availability()
    services.claim_submit(world.users["a_manager"], period="2030-03")
    commit_pending(at=local(2030, 4, 2))
    with pytest.raises(ValidationError, match="A second claim for pile PILE-A1 and period 2030-03"):
        services.claim_submit(world.users["a_manager"], period="2030-03")
    # The same claim signed straight by the node (bypassing the service) is refused by the contract.
    again = node_submit(type="subsidy.claim_submit", institution="OP-A", check=False, payload={
        "period": "2030-03", "piles": ["PILE-A1"]})
    commit_pending(at=local(2030, 4, 3))
    assert CommittedTx.objects.get(tx_id=again.tx_id).reason == "a second claim for pile PILE-A1 and period 2030-03"
    assert Claim.objects.count() == 1


def test_claim_refusals(month, world):
    with pytest.raises(PermissionDenied):
        services.claim_submit(world.users["reg_manager"], period="2030-03")
    with pytest.raises(ValidationError, match="Not piles of OP-A"):
        services.claim_submit(world.users["a_manager"], period="2030-03", piles=["PILE-B1"])
    cases = [
        ({"period": "2030-13", "piles": []}, "a period is YYYY-MM"),
        ({"period": "2030-03", "piles": ["PILE-B1"]}, "OP-A does not operate pile PILE-B1"),
        ({"period": "2030-03", "piles": ["NO-SUCH-PILE"]}, "no pile NO-SUCH-PILE"),
        ({"period": "2030-03", "piles": ["PILE-A1", "PILE-A1"]}, "piles must be distinct pile codes"),
        ({"period": "2030-03", "piles": [{"pile": "PILE-A1", "availability": "1.000000", "up_minutes": "1"}]},
         "piles must be distinct pile codes"),
        ({"period": "2030-03", "piles": []}, "piles must list 1 to 20000 pile codes"),
        ({"period": "2030-03", "piles": ["PILE-A1"], "availability": "1"}, "a claim has exactly period, piles"),
        ({"period": "2030-04", "piles": ["PILE-A1"]}, "the period 2030-04 is not over yet"),
        ({"period": "2029-03", "piles": ["PILE-A1"]}, "no subsidy policy is in force for 2029-03"),
    ]
    subs = [node_submit(type="subsidy.claim_submit", payload=p, institution="OP-A", check=False) for p, _ in cases]
    commit_pending(at=local(2030, 4, 15))
    assert [CommittedTx.objects.get(tx_id=x.tx_id).reason for x in subs] == [r for _, r in cases]
    assert not Claim.objects.exists()


def _claim_line(world, *, at=None):
    services.claim_submit(world.users["a_manager"], period="2030-03")
    commit_pending(at=at or local(2030, 4, 2))
    return ClaimLine.objects.get(pile__code="PILE-A1")


def test_low_availability_holds_the_operating_subsidy(month, world):
    # Faulted from 10 to 15 March: 120 of the month's 744 hours down, as the daily reports show.
    month.online("PILE-A1", since=local(2030, 3, 10), status="Faulted")
    month.online("PILE-A1", since=local(2030, 3, 15), status="Available")
    month.report_availability()
    line = _claim_line(world)
    assert line.availability == Decimal("0.838709")  # 624 / 744, rounded down
    assert (line.energy_wh, line.operating_cny, line.amount_cny) == (0, Decimal("0.00"), Decimal("700.00"))
    assert line.exclusions.filter(reason="availability_below_minimum", session="", energy_wh=14000).exists()


def test_a_day_without_a_report_counts_as_down(month, world):
    # The operator's node leaves out the last four days of March: 27 of 31 days up is below 0.9.
    month.report_availability(days=range(1, 28))
    line = _claim_line(world)
    assert line.availability == Decimal("0.870967")  # 27 / 31, rounded down
    assert line.energy_wh == 0
    assert ("", "availability_below_minimum", 14000) in set(line.exclusions.values_list("session", "reason", "energy_wh"))


def test_a_dedicated_pile_gets_no_operating_subsidy(month, world):
    from registry import services as registry_services
    from registry.models import Pile

    registry_services.pile_update(actor=world.users["admin"], pile=Pile.objects.get(code="PILE-A1"),
                                  data={"public": False})
    commit_pending(at=local(2030, 3, 31, 12))
    month.report_availability()
    line = _claim_line(world)
    assert (line.energy_wh, line.operating_cny, line.construction_cny) == (0, Decimal("0.00"), Decimal("700.00"))
    assert ("", "not_public", 14000) in set(line.exclusions.values_list("session", "reason", "energy_wh"))


def test_availability_the_claim_cannot_bring_with_it(month, world):
    """Figures in the payload are refused: the contract reads the reports on the ledger, nothing else."""
    month.report_availability()
    forged = node_submit(type="subsidy.claim_submit", institution="OP-A", check=False, payload={
        "period": "2030-03", "piles": ["PILE-A1"], "availability": {"PILE-A1": "1.000000"}})
    commit_pending(at=local(2030, 4, 2))
    assert CommittedTx.objects.get(tx_id=forged.tx_id).reason == "a claim has exactly period, piles"
    assert not Claim.objects.exists()


def test_decisions_trail_and_same_state_on_replay(month, world):
    month.report_availability()
    services.claim_submit(world.users["a_manager"], period="2030-03")
    services.claim_submit(world.users["b_manager"], period="2030-03")
    submitted = commit_pending(at=local(2030, 4, 2))
    a = Claim.objects.get(operator__code="OP-A")
    b = Claim.objects.get(operator__code="OP-B")
    with pytest.raises(PermissionDenied):
        services.claim_decide(world.users["a_manager"], claim=str(a.uid), decision="approve",
                              payment_due_on=dt.date(2030, 5, 31))
    with pytest.raises(ValidationError):
        services.claim_decide(world.users["reg_manager"], claim=str(b.uid), decision="reject")
    services.claim_decide(world.users["reg_manager"], claim=str(a.uid), decision="approve",
                          payment_due_on=dt.date(2030, 5, 31), reason="checked")
    services.claim_decide(world.users["reg_manager"], claim=str(b.uid), decision="reject", piles=["PILE-B1"],
                          reason="no evidence the pile was ever online")
    decided = commit_pending(at=local(2030, 4, 20))
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.approved_cny, a.payment_due_on) == ("approved", Decimal("702.80"), dt.date(2030, 5, 31))
    assert (b.status, b.approved_cny) == ("rejected", Decimal("0.00"))
    assert [(st.action, st.height, st.institution) for st in a.steps.all()] == [
        ("submitted", submitted.height, "OP-A"), ("approved", decided.height, "REG")]
    again = node_submit(type="subsidy.claim_decide", institution="REG", check=False, payload={
        "claim": str(a.uid), "decision": "reject", "piles": [], "reason": "late", "payment_due_on": None})
    commit_pending(at=local(2030, 4, 21))
    assert CommittedTx.objects.get(tx_id=again.tx_id).reason == "nothing of this claim is left to decide"

    from ledger.execution import replay_all
    from ledger.runtime import node
    from ledger.state.rows import entry_bytes

    before_root = NodeState.objects.get().state_root
    before_rows = sorted(entry_bytes(r) for m in (Claim, ClaimLine, ClaimExclusion) for r in m.objects.all())
    replay_all(role_of=node.role_of)
    assert NodeState.objects.get().state_root == before_root
    assert sorted(entry_bytes(r) for m in (Claim, ClaimLine, ClaimExclusion) for r in m.objects.all()) == before_rows


def test_the_claim_page_names_each_reason_in_the_reader_s_language(month, world, user_client, settings):
    from subsidy import selectors

    month.report_availability()
    services.claim_submit(world.users["a_manager"], period="2030-03")
    services.claim_submit(world.users["b_manager"], period="2030-03")
    commit_pending(at=local(2030, 4, 2))
    claim = Claim.objects.get(operator__code="OP-A")
    page = user_client("a_manager").get(f"/subsidy/claims/{claim.uid}/?held=1")
    assert page.status_code == 200
    assert b"power above the rated power" in page.content and b'title="power_above_rated"' in page.content
    client = user_client("a_manager")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "功率超过额定功率".encode() in client.get(f"/subsidy/claims/{claim.uid}/").content
    # The lines come a page at a time; "held only" keeps the piles with energy held.
    reg = world.users["reg_manager"]
    assert selectors.claim_detail(reg, claim.uid)["lines_total"] == 1
    b = Claim.objects.get(operator__code="OP-B")
    assert selectors.claim_detail(reg, b.uid, held_only=True)["lines_total"] == 1
    assert selectors.claim_detail(world.users["b_manager"], claim.uid) is None


def test_the_refusal_of_a_second_claim_names_the_first_pile_by_code_point(world):
    """The pile named is the first in code point order, whatever the database's collation (under
    en-US "PILE_A2" sorts before "PILE-A1"): the reason is committed data, the same on every node."""
    from registry.models import Pile
    from tests.utils.collation import collate_like_en_us

    publish(world)
    node_submit(type="registry.pile_register", institution="OP-A", payload={
        "station": "ST-A", "code": "PILE_A2", "kind": "ac", "rated_power_kw": "7",
        "connectors": [{"connector_id": 1, "standard": "gbt_ac"}]})
    commit_pending(at=local(2030, 1, 3))
    codes = ["PILE_A2", "PILE-A1"]
    node_submit(type="subsidy.claim_submit", institution="OP-A", check=False, payload={"period": "2030-03", "piles": codes})
    commit_pending(at=local(2030, 4, 2))
    if collate_like_en_us(Pile, "code"):
        assert list(Pile.objects.filter(code__in=codes).order_by("code").values_list("code", flat=True)) == codes
    again = node_submit(type="subsidy.claim_submit", institution="OP-A", check=False,
                        payload={"period": "2030-03", "piles": codes})
    commit_pending(at=local(2030, 4, 3))
    assert CommittedTx.objects.get(tx_id=again.tx_id).reason == "a second claim for pile PILE-A1 and period 2030-03"


def test_an_operator_cap_used_up_exactly_is_the_same_on_every_node(world):
    """SUM over a decimal column passes through floats on SQLite: the 2,000 earlier lines below come
    to 4873307.40000002 there, 4873307.40 on PostgreSQL, and with the operator's cap set to exactly
    that, one node would cap the new line (and say so in its hashed note) and the other not. The
    earlier lines are written here directly: their history is not under test, only the sum."""
    import random
    import uuid

    from registry.models import Institution, Pile

    rnd = random.Random(13)
    amounts = [Decimal(rnd.randint(1, 500_000)).scaleb(-2) for _ in range(2000)]
    used = sum(amounts, Decimal("0.00"))
    assert used == Decimal("4873307.40")
    publish(world, cap_per_operator_year_cny=format(used, "f"), cap_per_pile_year_cny="9000000.00")
    earlier = Claim.objects.create(uid=uuid.uuid4(), operator=Institution.objects.get(code="OP-A"), period="2030-01",
                                   policy=Policy.objects.get(), status="approved", eligible_cny=used, submitted_height=1,
                                   height=1)
    pile = Pile.objects.get(code="PILE-A1")
    ClaimLine.objects.bulk_create([
        ClaimLine(uid=uuid.uuid4(), claim=earlier, pile=pile, period="2030-01", sessions=0, energy_wh=0, excluded_wh=0,
                  operating_cny=amount, construction_cny=Decimal("0.00"), amount_cny=amount, status="approved")
        for amount in amounts])
    claim = node_submit(type="subsidy.claim_submit", institution="OP-A", check=False,
                        payload={"period": "2030-03", "piles": ["PILE-A1"]})
    commit_pending(at=local(2030, 4, 2))
    assert CommittedTx.objects.get(tx_id=claim.tx_id).status == "applied"
    line = ClaimLine.objects.get(period="2030-03")
    assert (line.amount_cny, line.note) == (Decimal("0.00"), "")


@pytest.fixture
def no_returning(monkeypatch):
    """The database as SQLite before 3.35 answers Django: INSERT ... RETURNING is not there, so a bulk
    insert hands back no keys and a single one its rowid (Django's own code path for such a version,
    on the real database). PostgreSQL always has RETURNING; there only bulk inserts are told not to
    use it (the ledger writes them with COPY and keys drawn first)."""
    from django.db import connection

    features = connection.features
    if connection.vendor == "sqlite":
        monkeypatch.setattr(features, "can_return_columns_from_insert", False)
    else:
        monkeypatch.setattr(features, "can_return_rows_from_bulk_insert", False)
    assert not features.can_return_rows_from_bulk_insert


def test_a_claim_with_exclusions_applies_where_bulk_inserts_return_no_keys(month, world, no_returning):
    """The exclusions point at lines inserted in bulk just before: a node whose database returns no
    keys for them refused the whole claim (ValueError, recorded as a rejection on such nodes only)."""
    month.report_availability()
    claim = node_submit(type="subsidy.claim_submit", institution="OP-A", check=False,
                        payload={"period": "2030-03", "piles": ["PILE-A1"]})
    commit_pending(at=local(2030, 4, 2))
    committed = CommittedTx.objects.get(tx_id=claim.tx_id)
    assert (committed.status, committed.reason) == ("applied", "")
    line = ClaimLine.objects.get(pile__code="PILE-A1")
    assert sorted(line.exclusions.values_list("reason", flat=True)) == [
        "energy_above_meter", "non_compliant", "overlapping", "power_above_rated", "signature_failed"]


def test_a_policy_on_the_agreed_intervals_judges_by_the_uptime_the_regulator_sees(month, world):
    """A new policy version for the new formula: its minimum applies to the uptime of the agreed
    intervals (the old versions keep the daily reports), and the claim's availability is the one the
    regulator's uptime read gives for the same pile and month."""
    from monitoring.selectors import intervals
    from registry.models import User

    publish(world, valid_from="2030-03", min_availability="0.050000", availability_formula="intervals")
    assert list(Policy.objects.values_list("version", "availability_formula")) == [
        (2, "intervals"), (1, "daily_reports")]
    # PILE-A1 reports one whole day of March available, interval by interval: 1 of 31 days up.
    start = local(2030, 3, 5)
    for n in range(96):
        node_submit(type="monitoring.interval_report", institution="OP-A", check=False, payload={
            "start": (start + dt.timedelta(minutes=15 * n)).isoformat(), "connectors": [{
                "pile": "PILE-A1", "connector": 1, "state": "available",
                "seconds": {"available": 900, "occupied": 0, "faulted": 0, "unavailable": 0, "offline": 0, "unknown": 0},
                "register_start_wh": None, "register_end_wh": None, "peak_w": 0, "authorizations": 0,
                "sessions_started": 0, "sessions_ended": {}, "events": 0, "root": "", "signed_end": ""}]})
    commit_pending(at=local(2030, 4, 1, 12))
    line = _claim_line(world)
    [row] = intervals.uptime(user=User.objects.get(username="reg_manager"), by="pile", pile="PILE-A1",
                             start_day=dt.date(2030, 3, 1), end_day=dt.date(2030, 3, 31))
    assert row["uptime"].ratio == Decimal("0.032258") and line.availability == row["uptime"].ratio
    assert line.energy_wh == 0
    assert ("", "availability_below_minimum", 14000) in set(line.exclusions.values_list("session", "reason", "energy_wh"))
