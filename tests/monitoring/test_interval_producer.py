"""The operator's node reports its agreed intervals from its own telemetry (monitoring.services.
intervals): what each figure is made of, once per interval, and the refused entries left out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.models import CommittedTx, Submission
from ledger.services import node_submit
from monitoring import tasks
from monitoring.leaves import reading_leaf, status_leaf
from monitoring.models import AuthorizationAttempt, ConnectionEvent, ConnectorDay, Reading, StatusEvent
from monitoring.services import intervals as service
from monitoring.units import ENERGY_REGISTER, POWER
from ledger.chain.merkle import merkle_root
from registry.models import Pile
from settlement.identifiers import session_uid
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

UTC = dt.timezone.utc
LENGTH = dt.timedelta(seconds=900)
# An interval some hours ago: the dry run of a report runs at this node's clock, after it.
S = service._grid(dt.datetime.now(UTC) - dt.timedelta(hours=3), 900)
REPORT = "monitoring.interval_report"


def at(seconds: int) -> dt.datetime:
    return S + dt.timedelta(seconds=seconds)


def telemetry():
    pile = Pile.objects.get(code="PILE-A1")
    ConnectionEvent.objects.create(pile=pile, up=True, ts=at(-7200))
    StatusEvent.objects.create(pile=pile, connector_id=1, status="Available", ts=at(-3600), source="ocpp")
    StatusEvent.objects.create(pile=pile, connector_id=1, status="Charging", ts=at(300), source="ocpp")
    StatusEvent.objects.create(pile=pile, connector_id=1, status="Available", ts=at(600), source="ocpp")
    ConnectionEvent.objects.create(pile=pile, up=False, ts=at(700))
    ConnectionEvent.objects.create(pile=pile, up=True, ts=at(800))
    for seconds, measurand, value in ((-10, ENERGY_REGISTER, "10000"), (400, POWER, "3000"), (500, POWER, "6500"),
                                      (890, ENERGY_REGISTER, "10900"), (950, ENERGY_REGISTER, "11000")):
        Reading.objects.create(pile=pile, connector_id=1, measurand=measurand, value=Decimal(value),
                               unit="Wh" if measurand == ENERGY_REGISTER else "W", ts=at(seconds))
    for seconds in (250, 280):
        AuthorizationAttempt.objects.create(pile=pile, accepted=True, ts=at(seconds))
    started = at(310).isoformat()
    node_submit(type="settlement.session_open", institution="OP-A", check=False, payload={
        "pile": "PILE-A1", "connector_id": 1, "transaction_id": "7", "id_tag": "", "protocol": "ocpp1.6",
        "started_at": started, "meter_start_wh": 10000})
    commit_pending()
    node_submit(type="settlement.session_close", institution="OP-A", check=False, payload={
        "pile": "PILE-A1", "session": str(session_uid("PILE-A1", "7", started)), "stopped_at": at(590).isoformat(),
        "meter_stop_wh": 10900, "stop_reason": "EVDisconnected", "signed_data": []})
    commit_pending()
    return pile


def test_an_interval_is_reported_from_the_nodes_telemetry(world):
    pile = telemetry()
    runs = service.report_intervals(starts=[S], operators=["OP-A"])
    assert [(run.start, run.connectors, run.refused) for run in runs] == [(S, 1, [])]
    entry = Submission.objects.get(type=REPORT).body["payload"]["connectors"][0]
    readings = list(Reading.objects.filter(ts__gte=S, ts__lt=S + LENGTH).order_by("ts", "id"))
    statuses = list(StatusEvent.objects.filter(ts__gte=S, ts__lt=S + LENGTH).order_by("ts", "id"))
    leaves = [reading_leaf(r, "PILE-A1") for r in readings] + [status_leaf(e, "PILE-A1") for e in statuses]
    assert entry == {
        "pile": "PILE-A1", "connector": 1, "state": "available",
        "seconds": {"available": 500, "occupied": 300, "faulted": 0, "unavailable": 0, "offline": 100, "unknown": 0},
        "register_start_wh": 10000, "register_end_wh": 10900, "peak_w": 6500, "authorizations": 2,
        "sessions_started": 1, "sessions_ended": {"EVDisconnected": 1}, "events": 5,
        "root": merkle_root(leaves).hex(), "signed_end": "",
    }
    # Nothing twice: the report waits for its block, then is on the ledger.
    assert service.report_intervals(starts=[S], operators=["OP-A"]) == []
    commit_pending()
    assert CommittedTx.objects.get(type=REPORT).status == "applied"
    day = ConnectorDay.objects.get(pile=pile)
    assert (day.available_s, day.occupied_s, day.offline_s, day.energy_wh, day.peak_w, day.authorizations,
            day.sessions_started, day.stop_reasons) == (500, 300, 100, 900, 6500, 2, 1, "EVDisconnected:1")
    assert service.report_intervals(starts=[S], operators=["OP-A"]) == []


def test_the_task_reports_what_is_due_and_catches_up_oldest_first(world, settings):
    telemetry()
    now = S + 3 * LENGTH + dt.timedelta(seconds=10)
    # The third interval has been over for 10 s only (less than the delay): the two before are due
    # (and the day's before them), but a connector never reported starts with the newest.
    due = service.intervals_due(now=now)
    assert due[-2:] == [S, S + LENGTH] and len(due) == 95 and due[0] == S + 3 * LENGTH - dt.timedelta(days=1)
    runs = service.report_intervals(starts=[S, S + LENGTH], operators=["OP-A"])
    assert [run.start for run in runs] == [S + LENGTH]
    commit_pending()
    day = ConnectorDay.objects.get(pile__code="PILE-A1")
    assert day.reported_until == S + 2 * LENGTH
    # Stopped for a while: every interval since is reported, oldest first, in one go.
    later = [S + n * LENGTH for n in range(2, 6)]
    runs = service.report_intervals(starts=later, operators=["OP-A"])
    assert [run.start for run in runs] == later
    commit_pending()
    day.refresh_from_db()
    assert (day.intervals, day.reported_until) == (5, S + 6 * LENGTH)
    assert day.unknown_s == 0 and day.available_s == 5 * 900


def test_entries_the_contract_would_refuse_are_left_out_alone(world, caplog):
    """A part the dry run refuses is halved until the refused entry stands alone."""
    good = {"pile": "PILE-A1", "connector": 1, "state": "unknown",
            "seconds": {"available": 0, "occupied": 0, "faulted": 0, "unavailable": 0, "offline": 0, "unknown": 900},
            "register_start_wh": None, "register_end_wh": None, "peak_w": 0, "authorizations": 0,
            "sessions_started": 0, "sessions_ended": {}, "events": 0, "root": "", "signed_end": ""}
    bad = {**good, "connector": 2}  # PILE-A1 has one connector
    third = {**good, "pile": "PILE-B1"}
    result = service.IntervalRun(start=S)
    service._submit("OP-A", S, [good, bad, dict(good)], result)
    assert result.refused and "unknown_connector" in result.refused[0][1]
    submitted = [[(e["pile"], e["connector"]) for e in s.body["payload"]["connectors"]] for s in result.submissions]
    assert submitted == [[("PILE-A1", 1)], [("PILE-A1", 1)]]
    assert "refused" in caplog.text
    # Another operator's pile is refused alike, alone.
    result = service.IntervalRun(start=S)
    service._submit("OP-A", S, [third], result)
    assert "not_operator" in result.refused[0][1] and not result.submissions


def test_a_meter_that_jumps_is_reported_without_registers(world, caplog):
    pile = telemetry()
    Reading.objects.create(pile=pile, connector_id=1, measurand=ENERGY_REGISTER, value=Decimal("99000"), unit="Wh",
                           ts=at(895))
    service.report_intervals(starts=[S], operators=["OP-A"])
    entry = Submission.objects.get(type=REPORT).body["payload"]["connectors"][0]
    assert (entry["register_start_wh"], entry["register_end_wh"]) == (None, None)
    assert "energy_above_rated" in caplog.text


def test_the_beat_task_reports_the_latest_interval_over_once(world):
    """Connectors never reported start with the newest interval over; the next run finds it in flight."""
    assert tasks.report_intervals() == 3  # PILE-A1's connector, PILE-B1's two
    assert tasks.report_intervals() == 0
    commit_pending()
    assert ConnectorDay.objects.count() == 3
    assert tasks.report_intervals() == 0


def test_the_register_the_pile_signed_goes_with_the_report(world):
    """Clock-aligned signed readings (kept by the gateway's ingest) make the interval's energy signed."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from gateway.simulator.ocmf_signer import signed_register_record
    from monitoring import ingest
    from registry import services as registry_services

    meter = ec.generate_private_key(ec.SECP256R1())
    pem = meter.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    registry_services.device_key_add(actor=world.users["admin"], pile="PILE-A1", purpose="meter", public_key=pem.decode())
    commit_pending()
    records = [signed_register_record(meter, meter_serial="M", pagination=n, at=at(n * 900), wh=10000 + 500 * n)
               for n in range(4)]
    # A record that is not OCMF is not kept.
    assert ingest.record_signed_readings(pile_code="PILE-A1", connector_id=1, records=[*records, "OCMF|{}|{}"]) == 4
    runs = service.report_intervals(starts=[S, S + LENGTH], operators=["OP-A"])
    assert [run.connectors for run in runs] == [1]  # never reported: the newest interval only
    commit_pending()
    runs = service.report_intervals(starts=[S + LENGTH], operators=["OP-A"])
    assert runs == []
    entry = Submission.objects.filter(type=REPORT).latest("pk").body["payload"]["connectors"][0]
    assert (entry["register_start_wh"], entry["register_end_wh"], entry["signed_end"]) == (10500, 11000, records[2])
    day = ConnectorDay.objects.get(pile__code="PILE-A1")
    # The first interval reported has a signed end, not yet a signed start: vouched.
    assert (day.energy_wh, day.signed_energy_wh, day.register_signed) == (500, 0, True)
    # The next has both: its energy is what the meter signed.
    service.report_intervals(starts=[S + 2 * LENGTH], operators=["OP-A"])
    commit_pending()
    day.refresh_from_db()
    assert (day.energy_wh, day.signed_energy_wh) == (1000, 500)


def test_a_register_signed_by_a_key_not_on_the_ledger_is_reported_vouched(world, caplog):
    from cryptography.hazmat.primitives.asymmetric import ec

    from gateway.simulator.ocmf_signer import signed_register_record
    from monitoring import ingest

    stranger = ec.generate_private_key(ec.SECP256R1())
    records = [signed_register_record(stranger, meter_serial="M", pagination=n, at=at(n * 900), wh=10000 + 500 * n)
               for n in range(2)]
    ingest.record_signed_readings(pile_code="PILE-A1", connector_id=1, records=records)
    runs = service.report_intervals(starts=[S], operators=["OP-A"])
    assert [(run.connectors, run.refused) for run in runs] == [(1, [])]
    entry = Submission.objects.get(type=REPORT).body["payload"]["connectors"][0]
    assert entry["signed_end"] == "" and entry["register_end_wh"] == 10500
    assert "reported without it" in caplog.text
