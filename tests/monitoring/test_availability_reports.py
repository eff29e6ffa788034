"""Daily availability reports on the ledger: the contract and its refusals, the service that computes
a day from status events and flagged outages, the period totals, the pages and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from core import localtime
from ledger import definition
from ledger.contracts import ContractRejected
from ledger.execution import node_state
from ledger.models import CommittedTx
from ledger.services import node_submit
from monitoring import tasks
from monitoring.contracts.reads import NO_REPORT, Totals, reported_totals
from monitoring.leaves import status_leaf
from monitoring.models import AvailabilityDay, StatusEvent
from monitoring.services import availability as service
from monitoring.services import grid
from monitoring.uptime import compute_seconds
from registry.models import Pile, User
from tests.monitoring.helpers import submissions
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

CN = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 1)
REPORT = "monitoring.availability_report"


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CN)


def entry(**overrides) -> dict:
    """PILE-A1 (one connector) on DAY: up all day but the hour 10:00-11:00, down."""
    return {"pile": "PILE-A1", "connectors": 1, "seconds": 86400, "up_seconds": 82800, "down_seconds": 3600,
            "excused_seconds": 0, "unknown_seconds": 0, "root": "ab" * 32, "events": 2, **overrides}


def send(payload: dict, *, institution: str = "OP-A", at: dt.datetime | None = None) -> CommittedTx:
    """Straight to the ledger (no dry run): the contract's verdict is what gets committed."""
    submission = node_submit(type=REPORT, payload=payload, institution=institution, check=False)
    commit_pending(at=at)
    return CommittedTx.objects.get(tx_id=submission.tx_id)


def flag_outage(world, starts_at, ends_at, area="AREA-1", manager="grid_manager"):
    grid.grid_outage_flag(actor=world.users[manager], area=area, starts_at=starts_at, ends_at=ends_at, reason="feeder")
    commit_pending()


# --- the contract ---------------------------------------------------------------------------------


def test_a_report_is_committed_once_per_pile_and_day(world):
    committed = send({"day": "2026-03-01", "piles": [entry()]})
    assert (committed.status, committed.reason) == ("applied", "")
    row = AvailabilityDay.objects.get()
    assert (row.pile.code, row.day, row.connectors, row.seconds, row.up_seconds, row.down_seconds,
            row.excused_seconds, row.unknown_seconds, row.root, row.events, row.reported_by, row.tx_id) == (
        "PILE-A1", DAY, 1, 86400, 82800, 3600, 0, 0, "ab" * 32, 2, "OP-A", committed.tx_id)
    assert row.height == committed.block.height
    assert row.public_id == "availability/PILE-A1/2026-03-01"

    again = send({"day": "2026-03-01", "piles": [entry(up_seconds=86400, down_seconds=0)]})
    assert again.status == "rejected"
    assert again.reason == f"pile PILE-A1 already has an availability report for 2026-03-01 (block {row.height})"
    assert AvailabilityDay.objects.get().up_seconds == 82800
    # The next day is a day of its own.
    assert send({"day": "2026-03-02", "piles": [entry()]}).status == "applied"


def test_reports_are_ledger_state_the_audit_and_a_replay_agree_on(world):
    from ledger.audit import audit_tables
    from ledger.execution import node_state, replay_all
    from ledger.runtime import node

    send({"day": "2026-03-01", "piles": [entry()]})
    root = node_state().state_root
    assert audit_tables().ok
    AvailabilityDay.objects.update(up_seconds=86400, down_seconds=0)  # behind the ledger's back
    assert not audit_tables().ok
    # A replay rebuilds the rows from the chain alone.
    assert replay_all(role_of=node.role_of) >= 1
    assert node_state().state_root == root and AvailabilityDay.objects.get().up_seconds == 82800
    assert audit_tables().ok


B1 = {"pile": "PILE-B1", "connectors": 2, "seconds": 172800, "up_seconds": 0, "down_seconds": 0,
      "excused_seconds": 0, "unknown_seconds": 172800, "root": "", "events": 0}


@pytest.mark.parametrize("payload, reason", [
    ({"day": "2026-03-01"}, "a report has exactly the keys day, piles"),
    ({"day": "2026-03-01", "piles": [entry()], "note": "x"}, "a report has exactly the keys day, piles"),
    ({"day": "2026-3-1", "piles": [entry()]}, "day must be a date written YYYY-MM-DD"),
    ({"day": "20260301", "piles": [entry()]}, "day must be a date written YYYY-MM-DD"),
    ({"day": "2026-02-30", "piles": [entry()]}, "day must be a date written YYYY-MM-DD"),
    ({"day": "2026-03-01", "piles": []}, "piles must be a list of 1 to 1000 entries"),
    ({"day": "2026-03-01", "piles": [entry()] * 1001}, "piles must be a list of 1 to 1000 entries"),
    ({"day": "2026-03-01", "piles": entry()}, "piles must be a list of 1 to 1000 entries"),
    ({"day": "2026-03-01", "piles": [{k: v for k, v in entry().items() if k != "events"}]},
     "piles[0] must have exactly the keys connectors, down_seconds, events, excused_seconds, pile, root, seconds, "
     "unknown_seconds, up_seconds"),
    ({"day": "2026-03-01", "piles": [{**entry(), "minutes": 1}]},
     "piles[0] must have exactly the keys connectors, down_seconds, events, excused_seconds, pile, root, seconds, "
     "unknown_seconds, up_seconds"),
    ({"day": "2026-03-01", "piles": [entry(pile=7)]}, "piles[0].pile must be a pile code"),
    ({"day": "2026-03-01", "piles": [entry(connectors=True)]}, "connectors of pile PILE-A1 must be a non-negative integer"),
    ({"day": "2026-03-01", "piles": [entry(up_seconds="82800")]}, "up_seconds of pile PILE-A1 must be a non-negative integer"),
    ({"day": "2026-03-01", "piles": [entry(up_seconds=90000, down_seconds=-3600)]},
     "down_seconds of pile PILE-A1 must be a non-negative integer"),
    ({"day": "2026-03-01", "piles": [entry(events=-1)]}, "events of pile PILE-A1 must be a non-negative integer"),
    ({"day": "2026-03-01", "piles": [entry(down_seconds=3599)]},
     "up, down, excused and unknown seconds of pile PILE-A1 add up to 86399, not to seconds (86400)"),
    ({"day": "2026-03-01", "piles": [entry(seconds=86000, up_seconds=82400)]},
     "seconds of pile PILE-A1 must be connectors x 86400 (the length of 2026-03-01) = 86400, not 86000"),
    ({"day": "2026-03-01", "piles": [entry(connectors=2, seconds=172800, up_seconds=169200)]},
     "pile PILE-A1 has 1 registered connectors, not 2"),
    ({"day": "2026-03-01", "piles": [entry(root="")]}, "root of pile PILE-A1 must be 64 lowercase hex digits"),
    ({"day": "2026-03-01", "piles": [entry(root="AB" * 32)]}, "root of pile PILE-A1 must be 64 lowercase hex digits"),
    ({"day": "2026-03-01", "piles": [entry(events=0)]}, "root of pile PILE-A1 must be empty: no status events"),
    ({"day": "2026-03-01", "piles": [entry(), entry()]}, "pile PILE-A1 is listed twice"),
    ({"day": "2026-03-01", "piles": [entry(pile="PILE-ZZ")]}, "unknown pile PILE-ZZ"),
    ({"day": "2026-03-01", "piles": [entry(), B1]}, "OP-A does not operate pile PILE-B1"),
    ({"day": "2026-03-01", "piles": [entry(down_seconds=3599, excused_seconds=1)]},
     "pile PILE-A1 excuses 1 s on 2026-03-01; the grid outages flagged in its area cover at most 0 connector-seconds"),
])
def test_refusals_are_committed_with_their_reason_and_write_nothing(world, payload, reason):
    committed = send(payload)
    assert (committed.status, committed.reason) == ("rejected", reason)
    assert not AvailabilityDay.objects.exists()


def test_a_day_is_reported_only_once_it_is_over_at_the_block_time(world):
    today = localtime.local_day(dt.datetime.now(dt.timezone.utc))
    committed = send({"day": today.isoformat(), "piles": [entry()]})
    _, end = localtime.day_bounds(today)
    assert (committed.status, committed.reason) == ("rejected", f"{today} is not over at this block's time (it ends {end.isoformat()})")
    assert not AvailabilityDay.objects.exists()
    # Block time decides, not the wall clock: the same day at a block after its end goes through.
    assert send({"day": today.isoformat(), "piles": [entry()]}, at=end).status == "applied"


def test_only_an_operator_node_reports(world):
    committed = send({"day": "2026-03-01", "piles": [entry()]}, institution="GRID-1")
    assert (committed.status, committed.reason) == ("rejected", "a grid institution may not do monitoring.availability_report")
    assert not AvailabilityDay.objects.exists()


def test_each_operator_reports_its_own_piles(world):
    assert send({"day": "2026-03-01", "piles": [B1]}, institution="OP-B").status == "applied"
    assert AvailabilityDay.objects.get().reported_by == "OP-B"


def test_excused_time_is_bounded_by_the_merged_outages_of_the_pile_area(world):
    # 11:00-12:00 and 11:30-12:30 overlap: together 5400 s, not 7200 s. An outage in another area,
    # one on another day and one ending before the day do not count.
    flag_outage(world, local(2026, 3, 1, 11), local(2026, 3, 1, 12))
    flag_outage(world, local(2026, 3, 1, 11, 30), local(2026, 3, 1, 12, 30))
    flag_outage(world, local(2026, 3, 1, 0), local(2026, 3, 1, 23), area="AREA-2", manager="grid2_manager")
    flag_outage(world, local(2026, 2, 28, 20), local(2026, 3, 1, 0))
    flag_outage(world, local(2026, 3, 2, 0), local(2026, 3, 2, 1))
    too_much = send({"day": "2026-03-01", "piles": [entry(up_seconds=80999, down_seconds=0, excused_seconds=5401)]})
    assert (too_much.status, too_much.reason) == (
        "rejected", "pile PILE-A1 excuses 5401 s on 2026-03-01; the grid outages flagged in its area cover at most 5400 connector-seconds")
    assert send({"day": "2026-03-01", "piles": [entry(up_seconds=81000, down_seconds=0, excused_seconds=5400)]}).status == "applied"
    assert AvailabilityDay.objects.get().excused_seconds == 5400


def test_the_excused_bound_scales_with_the_connectors(world):
    flag_outage(world, local(2026, 3, 1, 11), local(2026, 3, 1, 12), area="AREA-2", manager="grid2_manager")
    over = {**B1, "unknown_seconds": 172800 - 7201, "excused_seconds": 7201}
    assert send({"day": "2026-03-01", "piles": [over]}, institution="OP-B").reason == (
        "pile PILE-B1 excuses 7201 s on 2026-03-01; the grid outages flagged in its area cover at most 7200 connector-seconds")
    fits = {**B1, "unknown_seconds": 172800 - 7200, "excused_seconds": 7200}
    assert send({"day": "2026-03-01", "piles": [fits]}, institution="OP-B").status == "applied"


def test_one_bad_pile_rejects_the_whole_report(world):
    committed = send({"day": "2026-03-01", "piles": [entry(), entry(pile="PILE-ZZ")]})
    assert (committed.status, committed.reason) == ("rejected", "unknown pile PILE-ZZ")
    assert not AvailabilityDay.objects.exists()


def _consortium_zone(zone: str) -> None:
    """The consortium's business zone, as a definition that says so would put it in the state."""
    state = node_state()
    state.definition = {**state.definition, "rules": {"time_zone": zone}}
    state.save(update_fields=["definition"])
    definition.forget()  # as a node started on that state would read it


def test_the_day_length_comes_from_the_consortium_zone(world):
    # A zone with daylight saving time: 2026-03-29 has 23 hours in Berlin.
    berlin = ZoneInfo("Europe/Berlin")
    assert localtime.day_length_s(dt.date(2026, 3, 29), berlin) == 82800
    assert localtime.day_length_s(dt.date(2026, 10, 25), berlin) == 90000
    _consortium_zone("Europe/Berlin")
    assert send({"day": "2026-03-29", "piles": [entry()]}).reason == (
        "seconds of pile PILE-A1 must be connectors x 82800 (the length of 2026-03-29) = 82800, not 86400")
    assert send({"day": "2026-03-29", "piles": [entry(seconds=82800, up_seconds=79200)]}).status == "applied"
    _consortium_zone("Asia/Shanghai")
    assert localtime.day_length_s(dt.date(2026, 3, 29)) == 86400
    assert localtime.day_bounds(DAY) == (dt.datetime(2026, 2, 28, 16, tzinfo=dt.timezone.utc),
                                         dt.datetime(2026, 3, 1, 16, tzinfo=dt.timezone.utc))


def test_a_node_s_own_time_zone_setting_changes_no_verdict(world, settings):
    # PILECHAIN_LOCAL_TZ is how this node's pages show times; the contracts keep the consortium's zone.
    settings.PILECHAIN_LOCAL_TZ = settings.TIME_ZONE = "Europe/Berlin"
    assert send({"day": "2026-03-29", "piles": [entry(seconds=82800, up_seconds=79200)]}).reason == (
        "seconds of pile PILE-A1 must be connectors x 86400 (the length of 2026-03-29) = 86400, not 82800")
    assert send({"day": "2026-03-29", "piles": [entry()]}).status == "applied"


def test_the_dry_run_refuses_before_anything_is_queued(world):
    with pytest.raises(ContractRejected, match="unknown pile PILE-ZZ"):
        node_submit(type=REPORT, payload={"day": "2026-03-01", "piles": [entry(pile="PILE-ZZ")]}, institution="OP-A")
    assert not submissions(REPORT).exists()


# --- computing a day from the status events -------------------------------------------------------


def status(pile: str, connector: int, value: str, ts: dt.datetime, code: str = "NoError") -> StatusEvent:
    return StatusEvent.objects.create(pile=Pile.objects.get(code=pile), connector_id=connector, status=value,
                                      error_code=code, ts=ts, source="test")


def test_compute_seconds_by_hand():
    start, end = localtime.day_bounds(DAY, ZoneInfo("Asia/Shanghai"))
    result = compute_seconds(
        start=start, end=end, before="Available",
        changes=[(local(2026, 3, 1, 10, 0, 0, 400000), "Faulted"), (local(2026, 3, 1, 12, 30), "Available")],
        outages=[(local(2026, 3, 1, 11), local(2026, 3, 1, 12)), (local(2026, 3, 1, 11, 30), local(2026, 3, 1, 11, 45))],
    )
    # Faulted 10:00:00.4 counts from 10:00:00 (times go down to their second): 9000 s down, of which
    # 11:00-12:00 excused once although two outages overlap there.
    assert (result.seconds, result.up, result.down, result.excused, result.unknown) == (86400, 77400, 5400, 3600, 0)
    # Nothing known before the first status: unknown until then.
    unknown = compute_seconds(start=start, end=end, before=None, changes=[(local(2026, 3, 1, 6), "Available")], outages=[])
    assert (unknown.up, unknown.unknown) == (64800, 21600)
    # Two changes in one second: the later one (in the order given) holds.
    same_second = compute_seconds(start=start, end=end, before="Available", outages=[],
                                  changes=[(local(2026, 3, 1, 8, 0, 0, 900000), "Faulted"), (local(2026, 3, 1, 8, 0, 0, 100000), "Available")])
    assert (same_second.up, same_second.down) == (86400, 0)


@pytest.fixture
def day_of_events(world):
    """PILE-A1 (OP-A, one connector): Available since the evening before, Faulted 10:00-12:30, then
    Available; a connector-0 message at 10:05; AREA-1's grid company flagged 11:00-12:00.
    PILE-B1 (OP-B, two connectors): never heard of."""
    status("PILE-A1", 1, "Available", local(2026, 2, 28, 20))
    faulted = status("PILE-A1", 1, "Faulted", local(2026, 3, 1, 10), "GroundFailure")
    whole = status("PILE-A1", 0, "Available", local(2026, 3, 1, 10, 5))
    back = status("PILE-A1", 1, "Available", local(2026, 3, 1, 12, 30))
    status("PILE-A1", 1, "Charging", local(2026, 3, 2, 0, 0))  # the next day
    flag_outage(world, local(2026, 3, 1, 11), local(2026, 3, 1, 12))
    return [faulted, whole, back]


def test_the_service_reports_the_day_from_the_status_events(day_of_events):
    from ledger.chain.merkle import merkle_root

    report = service.availability_report_day(day=DAY)
    assert report.piles == 2 and report.refused == []
    by_signer = {s.body["signer"]: s.body["payload"] for s in report.submissions}
    [a1] = by_signer["node:OP-A"]["piles"]
    # Down 10:00-12:30 = 9000 s; 11:00-12:00 inside the flagged outage: 3600 excused, 5400 down.
    assert (a1["connectors"], a1["seconds"], a1["up_seconds"], a1["down_seconds"], a1["excused_seconds"],
            a1["unknown_seconds"], a1["events"]) == (1, 86400, 86400 - 9000, 5400, 3600, 0, 3)
    faulted = day_of_events[0]
    assert status_leaf(faulted, "PILE-A1").decode() == (
        '{"connector_id":1,"error_code":"GroundFailure","id":%d,"info":"","pile":"PILE-A1","status":"Faulted",'
        '"ts":"2026-03-01T02:00:00.000000Z","v":"pilechain/status/v1"}' % faulted.id)
    assert a1["root"] == merkle_root([status_leaf(e, "PILE-A1") for e in day_of_events]).hex()
    assert by_signer["node:OP-B"] == {"day": "2026-03-01", "piles": [
        {"pile": "PILE-B1", "connectors": 2, "seconds": 172800, "up_seconds": 0, "down_seconds": 0,
         "excused_seconds": 0, "unknown_seconds": 172800, "root": "", "events": 0}]}

    # While the reports wait for their block, and once they are committed, a run submits nothing new.
    assert service.availability_report_day(day=DAY).submissions == []
    commit_pending()
    assert sorted(AvailabilityDay.objects.values_list("pile__code", "up_seconds", "excused_seconds", "height")) == [
        ("PILE-A1", 77400, 3600, submissions(REPORT).first().height),
        ("PILE-B1", 0, 0, submissions(REPORT).first().height)]
    again = service.availability_report_day(day=DAY)
    assert (again.submissions, again.piles) == ([], 0)
    assert submissions(REPORT).count() == 2


def test_a_refused_report_is_computed_again_by_the_next_run(day_of_events):
    from ledger.models import Submission

    submission = node_submit(type=REPORT, payload={"day": "2026-03-01", "piles": [entry()]}, institution="OP-A", check=False)
    assert service.availability_report_day(day=DAY, operators=["OP-A"]).piles == 0  # waiting for its block
    Submission.objects.filter(pk=submission.pk).update(status="rejected", reason="refused")
    assert service.availability_report_day(day=DAY, operators=["OP-A"]).piles == 1


def test_the_service_refuses_a_day_that_is_not_over(world):
    today = localtime.local_day(dt.datetime.now(dt.timezone.utc))
    with pytest.raises(service.DayNotOver):
        service.availability_report_day(day=today)
    assert not submissions(REPORT).exists()


def test_reports_go_in_chunks_and_skip_piles_not_in_service_that_day(day_of_events, monkeypatch):
    from registry import services as registry_services

    admin = User.objects.get(username="admin")
    for code, status_, commissioned in (("PILE-A2", "active", dt.date(2025, 1, 1)),
                                        ("PILE-A3", "active", dt.date(2026, 3, 2)),
                                        ("PILE-A4", "planned", None)):
        registry_services.pile_register(
            actor=admin, station="ST-A", code=code, kind="ac", rated_power_kw=Decimal("7"), accuracy_class=2,
            status=status_, commissioned_on=commissioned, connectors=[{"connector_id": 1, "standard": "gbt_ac"}],
        )
    commit_pending()
    monkeypatch.setattr(service, "MAX_PILES", 1)
    report = service.availability_report_day(day=DAY, operators=["OP-A"])
    assert [[e["pile"] for e in s.body["payload"]["piles"]] for s in report.submissions] == [["PILE-A1"], ["PILE-A2"]]
    commit_pending()
    assert sorted(AvailabilityDay.objects.values_list("pile__code", flat=True)) == ["PILE-A1", "PILE-A2"]


def test_days_due_are_yesterday_and_the_catch_up_days_once_over_long_enough(ledger_node, settings):
    settings.MONITORING_AVAILABILITY_CATCH_UP_DAYS = 3
    settings.MONITORING_AVAILABILITY_DELAY_S = 900
    assert service.days_due(now=local(2026, 3, 2, 0, 10)) == [dt.date(2026, 2, 27), dt.date(2026, 2, 28)]
    assert service.days_due(now=local(2026, 3, 2, 0, 15)) == [dt.date(2026, 2, 27), dt.date(2026, 2, 28), DAY]
    assert service.days_due(now=local(2026, 3, 2, 23, 59)) == [dt.date(2026, 2, 27), dt.date(2026, 2, 28), DAY]


def test_the_task_reports_the_days_due_once(day_of_events, settings):
    settings.MONITORING_AVAILABILITY_CATCH_UP_DAYS = 2
    settings.MONITORING_AVAILABILITY_DELAY_S = 0
    # Each day not yet reported: yesterday and the day before, for the two operators' piles.
    assert tasks.report_availability() == 4
    assert tasks.report_availability() == 0
    yesterday = localtime.yesterday(dt.datetime.now(dt.timezone.utc))
    assert sorted({s.body["payload"]["day"] for s in submissions(REPORT)}) == [
        (yesterday - dt.timedelta(days=1)).isoformat(), yesterday.isoformat()]
    assert tasks.report_availability("2026-03-01") == 2
    assert tasks.report_availability("2026-03-01") == 0
    with pytest.raises(ValueError, match="day must be YYYY-MM-DD"):
        tasks.report_availability("yesterday")


def test_the_command_reports_a_given_day(day_of_events, capsys):
    call_command("availability_report", "--day", "2026-03-01", "--operator", "OP-A")
    [submission] = submissions(REPORT)
    assert capsys.readouterr().out.strip() == f"2026-03-01: 1 piles in 1 transactions {submission.tx_id}"
    call_command("availability_report", "--day", "2026-03-01")
    assert capsys.readouterr().out.strip().startswith("2026-03-01: 1 piles in 1 transactions")  # OP-B's
    call_command("availability_report", "--day", "2026-03-01")
    assert capsys.readouterr().out.strip() == "2026-03-01: 0 piles in 0 transactions"
    with pytest.raises(CommandError, match="--day must be YYYY-MM-DD"):
        call_command("availability_report", "--day", "1 March")
    with pytest.raises(CommandError, match="not an operator this node signs for: GRID-1"):
        call_command("availability_report", "--day", "2026-03-01", "--operator", "GRID-1")
    with pytest.raises(CommandError, match="is not over yet"):
        call_command("availability_report", "--day", "2999-01-01")


# --- period totals --------------------------------------------------------------------------------


@pytest.fixture
def three_days(world):
    """PILE-A1: 03-01 down an hour; 03-02 down two hours, one of them in a flagged outage; 03-03
    unknown for half the day. PILE-B1: 03-01 unknown. Returns the block height of each day."""
    flag_outage(world, local(2026, 3, 2, 10), local(2026, 3, 2, 12))
    heights = {}
    for day, figures in (("2026-03-01", entry()),
                         ("2026-03-02", entry(up_seconds=79200, down_seconds=3600, excused_seconds=3600)),
                         ("2026-03-03", entry(up_seconds=43200, down_seconds=0, unknown_seconds=43200))):
        committed = send({"day": day, "piles": [figures]})
        assert committed.status == "applied", committed.reason
        heights[day] = committed.block.height
    assert send({"day": "2026-03-01", "piles": [B1]}, institution="OP-B").status == "applied"
    return heights


def test_reported_totals_over_a_period(three_days, django_assert_num_queries):
    a1, b1 = (Pile.objects.get(code=code) for code in ("PILE-A1", "PILE-B1"))
    with django_assert_num_queries(1):
        totals = reported_totals(piles=Pile.objects.all(), start_day=DAY, end_day=dt.date(2026, 3, 3))
    assert totals[a1.pk] == Totals(days=3, seconds=259200, up_seconds=205200, down_seconds=7200, excused_seconds=3600,
                                   unknown_seconds=43200)
    # 205200 / (259200 - 3600) = 0.8028169...: six places, rounded down.
    assert totals[a1.pk].ratio == Decimal("0.802816") and str(totals[a1.pk].ratio) == "0.802816"
    assert totals[b1.pk] == Totals(1, 172800, 0, 0, 0, 172800) and totals[b1.pk].ratio == Decimal("0.000000")
    # Both ends included; piles as objects or ids.
    [(key, one_day)] = reported_totals(piles=[a1], start_day=dt.date(2026, 3, 2), end_day=dt.date(2026, 3, 2)).items()
    assert key == a1.pk and one_day.days == 1 and one_day.ratio == Decimal("0.956521")  # 79200 / 82800
    assert reported_totals(piles=[a1.pk], start_day=DAY, end_day=DAY)[a1.pk].ratio == Decimal("0.958333")  # 82800 / 86400
    # No report in the period: absent, and NO_REPORT has no ratio.
    none = reported_totals(piles=[a1.pk, b1.pk], start_day=dt.date(2026, 3, 4), end_day=dt.date(2026, 3, 31))
    assert none == {} and none.get(a1.pk, NO_REPORT).ratio is None
    # As the ledger stood at a block: the third day was not reported yet.
    then = reported_totals(piles=[a1], start_day=DAY, end_day=dt.date(2026, 3, 31), height=three_days["2026-03-02"])
    assert then[a1.pk].days == 2 and then[a1.pk].up_seconds == 82800 + 79200


def test_a_ratio_with_nothing_to_count_is_none():
    assert Totals(1, 86400, 0, 0, 86400, 0).ratio is None
    assert Totals(1, 86400, 86400, 0, 0, 0).ratio == Decimal("1.000000")
    assert Totals(3, 3, 2, 1, 0, 0).ratio == Decimal("0.666666")


# --- pages and API --------------------------------------------------------------------------------


def test_the_availability_api_shows_the_reported_days_to_those_who_may_see_the_pile(three_days, api_client):
    params = {"from": local(2026, 3, 1).isoformat(), "to": local(2026, 3, 4).isoformat()}
    body = api_client("reg_manager").get("/api/monitoring/availability/", params).json()
    assert (body["reported"]["first_day"], body["reported"]["last_day"]) == ("2026-03-01", "2026-03-03")
    a1, b1 = body["reported"]["piles"]
    assert a1 == {"pile": "PILE-A1", "days": 3, "seconds": 259200, "up_seconds": 205200, "down_seconds": 7200,
                  "excused_seconds": 3600, "unknown_seconds": 43200, "ratio": "0.802816",
                  "height": three_days["2026-03-03"]}
    assert b1["pile"] == "PILE-B1" and b1["ratio"] == "0.000000" and "reports" not in b1
    # Naming a pile adds its days, each with its block.
    [detail] = api_client("reg_manager").get("/api/monitoring/availability/", {**params, "pile": "PILE-A1"}).json()["reported"]["piles"]
    assert [(d["day"], d["ratio"], d["height"]) for d in detail["reports"]] == [
        ("2026-03-01", "0.958333", three_days["2026-03-01"]), ("2026-03-02", "0.956521", three_days["2026-03-02"]),
        ("2026-03-03", "0.500000", three_days["2026-03-03"])]
    assert detail["reports"][0]["tx_id"] == AvailabilityDay.objects.get(pile__code="PILE-A1", day=DAY).tx_id
    # The other operator and the other area's grid company see only their own pile.
    for username in ("b_manager", "grid2_manager"):
        seen = api_client(username).get("/api/monitoring/availability/", params).json()["reported"]["piles"]
        assert [p["pile"] for p in seen] == ["PILE-B1"]
    assert [p["pile"] for p in api_client("grid_manager").get("/api/monitoring/availability/", params)
            .json()["reported"]["piles"]] == ["PILE-A1"]
    assert api_client(None).get("/api/monitoring/availability/", params).status_code in (401, 403)


def test_the_availability_page_shows_the_reported_days(three_days, user_client):
    page = user_client("a_manager").get("/monitoring/availability/", {
        "start": "2026-03-01T00:00", "end": "2026-03-04T00:00"}).content.decode()
    assert 'id="availability-reported"' in page and "80.28 %" in page and "PILE-B1" not in page
    assert 'id="availability-days-PILE-A1"' not in page
    detail = user_client("a_manager").get("/monitoring/availability/", {
        "start": "2026-03-01T00:00", "end": "2026-03-04T00:00", "pile": "PILE-A1"}).content.decode()
    assert 'id="availability-days-PILE-A1"' in detail and "2026-03-02" in detail and "95.65 %" in detail
    assert f"<td title=\"Transaction {AvailabilityDay.objects.get(day=DAY, pile__code='PILE-A1').tx_id}\">{three_days['2026-03-01']}</td>" in detail
    other = user_client("b_manager").get("/monitoring/availability/", {
        "start": "2026-03-01T00:00", "end": "2026-03-04T00:00", "pile": "PILE-A1"}).content.decode()
    assert "availability-days-PILE-A1" not in other and "80.28" not in other


def test_the_contract_reads_in_bulk_whatever_the_number_of_piles(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registry import services as registry_services

    admin = User.objects.get(username="admin")
    for n in range(2, 6):
        registry_services.pile_register(
            actor=admin, station="ST-A", code=f"PILE-A{n}", kind="ac", rated_power_kw=Decimal("7"), accuracy_class=2,
            status="active", commissioned_on=dt.date(2025, 1, 1), connectors=[{"connector_id": 1, "standard": "gbt_ac"}],
        )
    commit_pending()

    def reads(day: str, codes: list[str]) -> int:
        node_submit(type=REPORT, payload={"day": day, "piles": [entry(pile=code) for code in codes]}, institution="OP-A", check=False)
        with CaptureQueriesContext(connection) as captured:
            commit_pending()
        tables = ("registry_pile", "registry_connector", "monitoring_availabilityday", "monitoring_gridoutage")
        return sum(1 for q in captured.captured_queries
                   if q["sql"].lstrip().upper().startswith("SELECT") and any(f'FROM "{t}"' in q["sql"] for t in tables))

    one = reads("2026-03-01", ["PILE-A1"])
    five = reads("2026-03-02", [f"PILE-A{n}" for n in range(1, 6)])
    assert AvailabilityDay.objects.count() == 6
    assert one == five == 4
