"""monitoring.interval_report on the ledger: what an accepted report leaves in the state, and the
forged reports every node rejects with their reason codes (docs/intervals.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.simulator.ocmf_signer import signed_register_record
from ledger.models import CommittedTx
from ledger.services import node_submit
from monitoring.models import AreaLoad, ConnectorDay, OpenReport
from monitoring.services import grid
from registry import services as registry_services
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

REPORT = "monitoring.interval_report"
UTC = dt.timezone.utc
T0 = dt.datetime(2030, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai: the local day is 2030-03-01
LENGTH = dt.timedelta(seconds=900)
METER = ec.generate_private_key(ec.SECP256R1())


def interval(n: int) -> dt.datetime:
    return T0 + n * LENGTH


def entry(pile="PILE-A1", connector=1, **overrides) -> dict:
    seconds = {"available": 600, "occupied": 300, "faulted": 0, "unavailable": 0, "offline": 0, "unknown": 0}
    return {"pile": pile, "connector": connector, "state": "available", "seconds": seconds,
            "register_start_wh": 1000, "register_end_wh": 1500, "peak_w": 7000, "authorizations": 1,
            "sessions_started": 1, "sessions_ended": {"EVDisconnected": 1}, "events": 3, "root": "ab" * 32,
            "signed_end": "", **overrides}


def send(start: dt.datetime, entries: list, *, institution="OP-A", at=None) -> CommittedTx:
    submission = node_submit(type=REPORT, payload={"start": start.isoformat(), "connectors": entries},
                             institution=institution, check=False)
    commit_pending(at=at or start + LENGTH + dt.timedelta(seconds=30))
    return CommittedTx.objects.get(tx_id=submission.tx_id)


def signed(end: dt.datetime, wh: int, key=METER) -> str:
    return signed_register_record(key, meter_serial="M-A1", pagination=1, at=end, wh=wh)


@pytest.fixture
def meter_key(world):
    pem = METER.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    registry_services.device_key_add(actor=world.users["admin"], pile="PILE-A1", purpose="meter",
                                     public_key=pem.decode())
    commit_pending(at=T0 - dt.timedelta(days=1))


def test_an_accepted_report_leaves_day_totals_area_load_and_open_figures(world):
    committed = send(interval(0), [entry()])
    assert (committed.status, committed.reason) == ("applied", "")
    day = ConnectorDay.objects.get()
    assert (day.pile.code, day.connector_id, day.reported_until, day.register_wh, day.register_signed, day.state) == (
        "PILE-A1", 1, interval(1), 1500, False, "available")
    assert (day.day, day.available_s, day.occupied_s, day.intervals, day.energy_wh, day.signed_energy_wh, day.peak_w,
            day.authorizations, day.sessions_started, day.sessions_ended, day.stop_reason_counts) == (
        dt.date(2030, 3, 1), 600, 300, 1, 500, 0, 7000, 1, 1, 1, {"EVDisconnected": 1})
    assert day.public_id == "connector-day/PILE-A1/1/2030-03-01"
    load = AreaLoad.objects.get()
    assert (load.area.code, load.start, load.energy_wh, load.connectors, load.average_w) == (
        "AREA-1", interval(0), 500, 1, 2000)
    report = OpenReport.objects.get()
    assert report.tx_id == committed.tx_id and report.closes_at == interval(1) + dt.timedelta(hours=1)

    # The next interval adds to the same day; its register starts where the last one ended.
    assert send(interval(1), [entry(register_start_wh=1500, register_end_wh=1600, peak_w=3000,
                                    sessions_ended={"Local": 1})]).status == "applied"
    day.refresh_from_db()
    assert (day.intervals, day.available_s, day.energy_wh, day.peak_w, day.sessions_ended, day.stop_reasons) == (
        2, 1200, 600, 7000, 2, "EVDisconnected:1 Local:1")
    assert day.reported_until == interval(2) and day.register_wh == 1600


def test_reports_are_ledger_state_the_audit_and_a_replay_agree_on(world):
    from ledger.audit import audit_tables
    from ledger.execution import node_state, replay_all
    from ledger.runtime import node

    send(interval(0), [entry()])
    send(interval(2), [entry(register_start_wh=1500, register_end_wh=1700)])
    root = node_state().state_root
    assert audit_tables().ok
    ConnectorDay.objects.update(available_s=1800)  # behind the ledger's back
    assert not audit_tables().ok
    replay_all(role_of=node.role_of)
    assert node_state().state_root == root and ConnectorDay.objects.get().available_s == 1200
    assert audit_tables().ok


def test_several_intervals_in_one_block_are_applied_in_order(world):
    """A node catching up submits several intervals at once: one run, each report sees the last."""
    reports = [node_submit(type=REPORT, institution="OP-A", check=False, payload={
        "start": interval(n).isoformat(),
        "connectors": [entry(register_start_wh=1000 + 100 * n, register_end_wh=1100 + 100 * n)]}) for n in range(3)]
    # The same interval twice: the second is refused (it overlaps what the first reported).
    repeat = node_submit(type=REPORT, institution="OP-A", check=False, payload={
        "start": interval(2).isoformat(), "connectors": [entry(register_start_wh=1300, register_end_wh=1300)]})
    commit_pending(at=interval(4))
    assert [CommittedTx.objects.get(tx_id=s.tx_id).status for s in reports] == ["applied"] * 3
    assert CommittedTx.objects.get(tx_id=repeat.tx_id).reason.startswith("1 of 1 entries refused: interval_order:")
    day = ConnectorDay.objects.get()
    assert (day.intervals, day.energy_wh) == (3, 300)
    assert ConnectorDay.objects.get().reported_until == interval(3)


def test_signed_register_readings_make_signed_energy(world, meter_key):
    end0, end1 = interval(1), interval(2)
    assert send(interval(0), [entry(register_end_wh=1500, signed_end=signed(end0, 1500))]).status == "applied"
    # The first interval's start was not signed: its energy is vouched for by the operator.
    assert ConnectorDay.objects.get().signed_energy_wh == 0
    assert ConnectorDay.objects.get().register_signed is True
    assert send(interval(1), [entry(register_start_wh=1500, register_end_wh=2100,
                                    signed_end=signed(end1, 2100))]).status == "applied"
    day = ConnectorDay.objects.get()
    assert (day.energy_wh, day.signed_energy_wh) == (1100, 600)


def _forged(world):
    other = ec.generate_private_key(ec.SECP256R1())
    end = interval(1)
    return [
        (entry(seconds={"available": 600, "occupied": 299, "faulted": 0, "unavailable": 0, "offline": 0, "unknown": 0}),
         "seconds_sum: pile PILE-A1 connector 1: the seconds add up to 899, not 900"),
        (entry(register_end_wh=1000 + 1751),
         "energy_above_rated: pile PILE-A1 connector 1: 1751 Wh in 900 s is more than 7.0 kW can deliver"),
        (entry(register_start_wh=1500, register_end_wh=1400),
         "register_backwards: pile PILE-A1 connector 1: the register went from 1500 to 1400 Wh"),
        (entry(pile="PILE-B1"), "not_operator: pile PILE-B1 connector 1: OP-A does not operate the pile"),
        (entry(pile="NO-SUCH"), "unknown_pile: pile NO-SUCH connector 1: no such pile is registered"),
        (entry(connector=2), "unknown_connector: pile PILE-A1 connector 2: the pile has no such connector"),
        (entry(peak_w=7001), "power_above_rated: pile PILE-A1 connector 1: peak 7001 W is above 7.0 kW"),
        (entry(signed_end=signed(end, 1500, key=other)),
         "signature_failed: pile PILE-A1 connector 1: no meter key registered for the pile verifies the signed reading"),
        (entry(signed_end=signed(end, 1400)),
         "signed_reading_mismatch: pile PILE-A1 connector 1: the signed reading is 1400000 mWh; the report says "
         "1500 Wh at the interval's end"),
        (entry(signed_end=signed(end - dt.timedelta(minutes=1), 1500)),
         "signed_reading_mismatch: pile PILE-A1 connector 1: the signed reading is of 2030-03-01T00:14:00+00:00, "
         "not of the interval's end (2030-03-01T00:15:00+00:00)"),
        (entry(signed_end="OCMF|{}|{}"), "signature_failed: pile PILE-A1 connector 1: the signed reading is not an OCMF"),
        (entry(state="charging"), "malformed: pile PILE-A1 connector 1: state must be one of available, occupied, faulted, "
                                  "unavailable, offline, unknown"),
        (entry(sessions_ended={"bad reason": 1}), "malformed: pile PILE-A1 connector 1: sessions_ended must map"),
        (entry(events=0), "malformed: pile PILE-A1 connector 1: root must be empty: no readings or events"),
    ]


def test_forged_entries_are_rejected_with_their_reason_codes(world, meter_key):
    for forged, reason in _forged(world):
        committed = send(interval(0), [forged])
        assert committed.status == "rejected", reason
        assert committed.reason.startswith(f"1 of 1 entries refused: {reason}"), committed.reason
    assert not ConnectorDay.objects.exists()
    # A report with one bad entry among good ones is rejected whole; the reason counts and names the refusals.
    committed = send(interval(0), [entry(), entry(connector=2), entry(connector=3)])
    assert committed.reason == (
        "2 of 3 entries refused: unknown_connector: pile PILE-A1 connector 2: the pile has no such connector; "
        "unknown_connector: pile PILE-A1 connector 3: the pile has no such connector")
    assert not ConnectorDay.objects.exists()
    assert send(interval(0), [entry(), entry()]).reason.endswith("duplicate: pile PILE-A1 connector 1: the connector is listed twice")


def test_a_register_running_backwards_across_intervals_is_refused(world):
    send(interval(0), [entry()])
    committed = send(interval(1), [entry(register_start_wh=1400, register_end_wh=1450)])
    assert committed.reason == ("1 of 1 entries refused: register_backwards: pile PILE-A1 connector 1: the register "
                                "starts at 1400 Wh, below the 1500 Wh the last interval ended with")


def _replace(at: dt.datetime, *, institution="OP-A", block_at=None, **fields) -> CommittedTx:
    payload = {"pile": "PILE-A1", "connector": 1, "at": at.isoformat(), "old_last_wh": 1500, "new_first_wh": 20,
               "reason": "failed its verification", **fields}
    submission = node_submit(type="monitoring.meter_replacement", payload=payload, institution=institution, check=False)
    commit_pending(at=block_at or interval(1) + dt.timedelta(minutes=5))
    return CommittedTx.objects.get(tx_id=submission.tx_id)


def test_a_meter_replacement_restarts_the_register_check(world, meter_key):
    from monitoring.models import MeterReplacement

    send(interval(0), [entry(signed_end=signed(interval(1), 1500))])
    assert ConnectorDay.objects.get().register_signed is True
    swap = interval(1) + dt.timedelta(minutes=2)  # in the interval after the last reported one
    refused = {
        "interval_order": _replace(interval(1) - dt.timedelta(minutes=1)),  # inside what was reported
        "register_backwards": _replace(swap, old_last_wh=1400),  # the old meter ran backwards
        "not_operator": _replace(swap, institution="OP-B"),
        "unknown_connector": _replace(swap, connector=9),
        "not_yet": _replace(interval(1) + dt.timedelta(minutes=9)),  # after the block's time
        "malformed": _replace(swap, new_first_wh=-1),
        # Skipping ahead of what was reported: the intervals between would be checked against the new meter.
        "interval_order ": _replace(interval(2) + dt.timedelta(minutes=1), block_at=interval(2) + dt.timedelta(minutes=5)),
    }
    for code, committed in refused.items():
        assert committed.status == "rejected" and committed.reason.startswith(code.strip()), (code, committed.reason)
    assert _replace(swap, reason="", block_at=interval(2) + dt.timedelta(minutes=5)).status == "rejected"
    assert not MeterReplacement.objects.exists()
    # Without the replacement, the new meter's register is refused as running backwards.
    assert "register_backwards" in send(interval(1), [entry(register_start_wh=20, register_end_wh=220)],
                                        at=interval(2) + dt.timedelta(minutes=6)).reason
    done = _replace(swap, old_last_wh=None, block_at=interval(2) + dt.timedelta(minutes=7))  # the old meter unread
    assert (done.status, done.reason) == ("applied", "")
    day = ConnectorDay.objects.get()
    assert (day.register_wh, day.register_signed) == (20, False)
    # A replacement before this one is out of order.
    assert _replace(interval(1) + dt.timedelta(minutes=1), block_at=interval(2) + dt.timedelta(minutes=8)
                    ).reason.startswith("interval_order")
    # The interval it happened in carries no registers (two meters'); the next ones count from the new meter.
    assert "meter_replaced" in send(interval(1), [entry(register_start_wh=20, register_end_wh=220)],
                                    at=interval(2) + dt.timedelta(minutes=9)).reason
    first = send(interval(1), [entry(register_start_wh=None, register_end_wh=None)],
                 at=interval(2) + dt.timedelta(minutes=10))
    assert first.status == "applied"
    assert send(interval(2), [entry(register_start_wh=20, register_end_wh=220)]).status == "applied"
    day.refresh_from_db()
    assert (day.energy_wh, day.register_wh, day.intervals) == (700, 220, 3)
    [row] = MeterReplacement.objects.restrict(world.users["reg_manager"])
    assert (row.old_last_wh, row.new_first_wh, row.declared_by) == (None, 20, "OP-A")
    assert not MeterReplacement.objects.restrict(world.users["b_manager"]).exists()


def test_a_correction_before_a_replacement_leaves_the_new_meters_register_alone(world):
    report = send(interval(0), [entry()])
    assert _replace(interval(1)).status == "applied"
    # The last interval of the old meter is corrected within its window: its figures move, the register not.
    fixed = entry(register_end_wh=1600)
    assert _correct(report.tx_id, [fixed], at=interval(1) + dt.timedelta(minutes=6)).status == "applied"
    day = ConnectorDay.objects.get()
    assert (day.energy_wh, day.register_wh) == (600, 20)
    assert send(interval(1), [entry(register_start_wh=20, register_end_wh=120)]).status == "applied"


@pytest.mark.parametrize("payload, reason", [
    ({"start": "2030-03-01T00:00:00+00:00"}, "malformed: a report has exactly the keys start, connectors"),
    ({"start": "2030-03-01T00:00:00", "connectors": [entry()]}, "malformed: start must be an ISO 8601 time with its zone"),
    ({"start": "2030-03-01T00:05:00+00:00", "connectors": [entry()]}, "interval_misaligned: "),
    ({"start": "2030-03-01T00:00:00+00:00", "connectors": []}, "malformed: connectors must be a list of 1 to 2000"),
])
def test_malformed_reports_are_rejected(world, payload, reason):
    submission = node_submit(type=REPORT, payload=payload, institution="OP-A", check=False)
    commit_pending(at=interval(2))
    committed = CommittedTx.objects.get(tx_id=submission.tx_id)
    assert committed.status == "rejected" and committed.reason.startswith(reason), committed.reason


def test_an_interval_is_reported_only_once_it_is_over(world):
    committed = send(interval(0), [entry()], at=interval(1) - dt.timedelta(seconds=1))
    assert committed.reason.startswith("interval_not_over: the interval ends 2030-03-01T00:15:00+00:00")


def test_a_flagged_grid_outage_excludes_outage_seconds_in_it(world):
    grid.grid_outage_flag(actor=world.users["grid_manager"], area="AREA-1", starts_at=interval(0) + dt.timedelta(minutes=5),
                          ends_at=interval(0) + dt.timedelta(minutes=10), reason="feeder")
    commit_pending(at=interval(0))
    offline = {"available": 300, "occupied": 0, "faulted": 0, "unavailable": 0, "offline": 600, "unknown": 0}
    assert send(interval(0), [entry(seconds=offline)]).status == "applied"
    day = ConnectorDay.objects.get()
    assert (day.offline_s, day.excluded_s) == (600, 300)


def test_open_figures_are_dropped_when_the_correction_window_closes(world):
    send(interval(0), [entry()])
    assert OpenReport.objects.count() == 1
    # An hour after the interval's end the window is closed: the next report's block drops the figures.
    send(interval(5), [entry(register_start_wh=1500, register_end_wh=1500)], at=interval(6))
    assert list(OpenReport.objects.values_list("start", flat=True)) == [interval(5)]


def test_a_new_day_starts_a_new_row_that_carries_the_register_on(world):
    """16:00 UTC is midnight in Shanghai: the interval before is the last of 2030-03-01."""
    last = T0 + dt.timedelta(hours=15, minutes=45)
    send(last, [entry()])
    send(last + LENGTH, [entry(register_start_wh=1400, register_end_wh=1450)])  # backwards: refused
    assert ConnectorDay.objects.count() == 1
    send(last + LENGTH, [entry(register_start_wh=1500, register_end_wh=1600)])
    send(last + 5 * LENGTH, [entry(register_start_wh=1600, register_end_wh=1700, sessions_ended={})])
    rows = list(ConnectorDay.objects.order_by("day"))
    assert [(r.day, r.intervals, r.energy_wh, r.register_wh, r.reported_until) for r in rows] == [
        (dt.date(2030, 3, 1), 1, 500, 1500, last + LENGTH),
        (dt.date(2030, 3, 2), 2, 200, 1700, last + 6 * LENGTH)]
    # A connector not reported for days still has its register checked against its last report.
    committed = send(last + dt.timedelta(days=3), [entry(register_start_wh=1650, register_end_wh=1700)])
    assert "register_backwards" in committed.reason


def test_the_day_keeps_at_most_sixteen_stop_reasons(world):
    from monitoring.models.intervals import format_reasons, parse_reasons

    counts = {f"Reason{i:02d}": i + 1 for i in range(20)}
    text = format_reasons(counts)
    kept = parse_reasons(text)
    assert len(kept) == 16 and kept["Other"] == sum(range(1, 6)) and sum(kept.values()) == sum(counts.values())


# --- corrections, disputes, maintenance ------------------------------------------------------------


def _correct(report_tx: str, entries: list, *, institution="OP-A", at=None) -> CommittedTx:
    submission = node_submit(type="monitoring.interval_correction", institution=institution, check=False,
                             payload={"report": report_tx, "connectors": entries})
    commit_pending(at=at or interval(1) + dt.timedelta(minutes=5))
    return CommittedTx.objects.get(tx_id=submission.tx_id)


def test_a_report_is_corrected_once_within_its_window(world):
    report = send(interval(0), [entry()])
    fixed = entry(seconds={"available": 0, "occupied": 900, "faulted": 0, "unavailable": 0, "offline": 0, "unknown": 0},
                  register_end_wh=1800, sessions_ended={"Local": 1})
    committed = _correct(report.tx_id, [fixed])
    assert (committed.status, committed.reason) == ("applied", "")
    day = ConnectorDay.objects.get()
    assert (day.available_s, day.occupied_s, day.energy_wh, day.stop_reasons, day.register_wh, day.intervals) == (
        0, 900, 800, "Local:1", 1800, 1)
    assert AreaLoad.objects.get().energy_wh == 800
    assert OpenReport.objects.get().corrected == "PILE-A1/1"
    # Once per connector.
    assert _correct(report.tx_id, [fixed]).reason == (
        "1 of 1 entries refused: already_corrected: pile PILE-A1 connector 1: an entry is corrected once")
    # Forged figures are refused as in a report.
    second = send(interval(1), [entry(register_start_wh=1800, register_end_wh=1900)])
    bad = entry(register_start_wh=1800, register_end_wh=1700)
    assert "register_backwards" in _correct(second.tx_id, [bad], at=interval(2) + dt.timedelta(minutes=1)).reason
    # Another operator may not correct it; nor after the window.
    assert _correct(second.tx_id, [entry()], institution="OP-B", at=interval(2) + dt.timedelta(minutes=2)).reason \
        .startswith("not_operator")
    late = _correct(second.tx_id, [entry(register_start_wh=1800)], at=interval(2) + dt.timedelta(hours=1, minutes=1))
    assert late.reason.startswith("correction_window_closed")


def test_an_outage_declared_after_a_report_counts_once_the_report_is_corrected_within_its_window(world):
    offline = {"available": 300, "occupied": 0, "faulted": 0, "unavailable": 0, "offline": 600, "unknown": 0}
    report = send(interval(0), [entry(seconds=offline)])
    grid.grid_outage_flag(actor=world.users["grid_manager"], area="AREA-1", starts_at=interval(0),
                          ends_at=interval(0) + dt.timedelta(minutes=4), reason="feeder tripped")
    commit_pending(at=interval(1) + dt.timedelta(minutes=2))
    assert ConnectorDay.objects.get().excluded_s == 0  # the report keeps what it was applied with
    assert _correct(report.tx_id, [entry(seconds=offline)]).status == "applied"
    day = ConnectorDay.objects.get()
    assert (day.offline_s, day.excluded_s, day.intervals) == (600, 240, 1)


def test_the_regulator_disputes_a_reported_interval(world):
    send(interval(0), [entry()])
    submission = node_submit(type="monitoring.interval_dispute", institution="REG", check=False, payload={
        "pile": "PILE-A1", "connector": 1, "start": interval(0).isoformat(), "reason": "the site was closed"})
    commit_pending(at=interval(1) + dt.timedelta(minutes=3))
    assert CommittedTx.objects.get(tx_id=submission.tx_id).status == "applied"
    from monitoring.models import IntervalDispute

    dispute = IntervalDispute.objects.get()
    assert (dispute.pile.code, dispute.start, dispute.reason, dispute.disputed_by) == (
        "PILE-A1", interval(0), "the site was closed", "REG")
    not_yet = node_submit(type="monitoring.interval_dispute", institution="REG", check=False, payload={
        "pile": "PILE-A1", "connector": 1, "start": interval(3).isoformat(), "reason": "x"})
    operator = node_submit(type="monitoring.interval_dispute", institution="OP-B", check=False, payload={
        "pile": "PILE-A1", "connector": 1, "start": interval(0).isoformat(), "reason": "x"})
    commit_pending(at=interval(1) + dt.timedelta(minutes=4))
    assert "has not reported the interval yet" in CommittedTx.objects.get(tx_id=not_yet.tx_id).reason
    assert CommittedTx.objects.get(tx_id=operator.tx_id).status == "rejected"


def _announce(starts, ends, *, connectors=None, at, institution="OP-A") -> CommittedTx:
    submission = node_submit(type="monitoring.maintenance_announce", institution=institution, check=False, payload={
        "pile": "PILE-A1", "connectors": connectors or [], "starts_at": starts.isoformat(), "ends_at": ends.isoformat(),
        "reason": "annual service"})
    commit_pending(at=at)
    return CommittedTx.objects.get(tx_id=submission.tx_id)


def test_planned_maintenance_is_excluded_when_announced_before_it_starts(world):
    from monitoring.models import MaintenanceWindow

    announced = _announce(interval(0), interval(1), at=interval(0) - dt.timedelta(hours=1))
    assert (announced.status, announced.reason) == ("applied", "")
    assert MaintenanceWindow.objects.get().seconds == 900
    # After the fact, by the party that benefits: refused.
    late = _announce(interval(2), interval(3), at=interval(2) + dt.timedelta(seconds=1))
    assert late.reason.startswith("maintenance is announced before it starts")
    faulted = {"available": 0, "occupied": 0, "faulted": 900, "unavailable": 0, "offline": 0, "unknown": 0}
    send(interval(0), [entry(seconds=faulted)])
    assert ConnectorDay.objects.get().excluded_s == 900
    # At most the consortium's cap (72 h) per connector per year.
    far = interval(0) + dt.timedelta(days=30)
    assert _announce(far, far + dt.timedelta(hours=71), at=interval(3)).status == "applied"
    over = _announce(far + dt.timedelta(days=1), far + dt.timedelta(days=1, hours=2), at=interval(3))
    assert "above the consortium's cap of 259200 s" in over.reason
    assert _announce(interval(5), interval(6), connectors=[2], at=interval(3)).reason == "pile PILE-A1 has no connector 2"
    assert _announce(interval(5), interval(6), institution="OP-B", at=interval(3)).reason == (
        "not_operator: OP-B does not operate pile PILE-A1")


def test_a_gap_cannot_be_filled_after_a_later_day_was_reported(world):
    """The connector's latest report stands wherever its day is: an older interval is refused."""
    send(interval(0), [entry()])
    later = interval(0) + dt.timedelta(days=2)
    send(later, [entry(register_start_wh=1500, register_end_wh=1600)], at=later + LENGTH)
    committed = send(interval(0) + dt.timedelta(days=1), [entry(register_start_wh=1600, register_end_wh=1700)],
                     at=later + 2 * LENGTH)
    assert "interval_order" in committed.reason
    assert ConnectorDay.objects.count() == 2


@pytest.mark.parametrize("payload, reason", [
    ({"start": "0001-01-01T00:00:00+05:00", "connectors": [entry()]}, "malformed: start must be"),
    ({"start": "2030-03-01T00:00:00+00:00", "connectors": [{**entry(), "pile": ["x"], "signed_end": "OCMF|x|y"}]},
     "1 of 1 entries refused: malformed"),
    ({"start": "2030-03-01T00:00:00+00:00", "connectors": [entry(sessions_ended={"EV\n": 1})]},
     "1 of 1 entries refused: malformed: pile PILE-A1 connector 1: sessions_ended"),
    ({"start": "2030-03-01T00:00:00+00:00", "connectors": [entry(root="ab" * 32 + "\n")]},
     "1 of 1 entries refused: malformed: pile PILE-A1 connector 1: root"),
    ({"start": "2030-03-01T00:00:00+00:00", "connectors": [entry(register_end_wh=10**16)]},
     "1 of 1 entries refused: malformed: pile PILE-A1 connector 1: register_end_wh"),
])
def test_crafted_reports_are_refused_not_crashed_on(world, payload, reason):
    submission = node_submit(type=REPORT, payload=payload, institution="OP-A", check=False)
    commit_pending(at=interval(2))
    committed = CommittedTx.objects.get(tx_id=submission.tx_id)
    assert committed.status == "rejected" and committed.reason.startswith(reason), committed.reason


def test_a_run_of_rejected_reports_changes_nothing(world):
    send(interval(0), [entry()])
    assert OpenReport.objects.count() == 1
    # Past the window, a report that is refused drops nothing (as it would not alone).
    send(interval(0), [entry()], at=interval(6))
    assert OpenReport.objects.count() == 1
