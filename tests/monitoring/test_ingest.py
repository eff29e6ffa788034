"""Telemetry ingestion: units normalised, bad input refused whole, latest state, faults reported once."""

import datetime as dt
from decimal import Decimal

import pytest

from ledger.models import Submission as AnySubmission
from monitoring import ingest
from monitoring.models import ConnectorState, FaultWatch, Reading, StatusEvent

pytestmark = pytest.mark.django_db


def fault_reports():
    """Fault reports queued by this node (the world fixture leaves its own registry submissions)."""
    return AnySubmission.objects.filter(type="monitoring.fault_report").order_by("pk")


T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


def sample(minutes, measurand, value, unit, **extra):
    return {"timestamp": T0 + dt.timedelta(minutes=minutes), "measurand": measurand, "value": Decimal(value),
            "unit": unit, "phase": extra.get("phase"), "context": extra.get("context")}


def test_meter_values_normalised_and_latest_state(world):
    stored = ingest.record_meter_values(pile_code="pile-a1", connector_id=1, samples=[
        sample(0, "Energy.Active.Import.Register", "1.5", "kWh", context="Sample.Periodic"),
        sample(0, "Power.Active.Import", "3.2", "kW"),
        sample(1, "Energy.Active.Import.Register", "1600", "Wh"),
        sample(1, "Voltage", "229.5", "V", phase="L1"),
        sample(1, "Current.Import", "14", "A"),
    ])
    assert stored == 5
    energy = list(Reading.objects.filter(measurand="Energy.Active.Import.Register").values_list("value", "unit"))
    assert energy == [(Decimal("1500"), "Wh"), (Decimal("1600"), "Wh")]
    assert Reading.objects.get(measurand="Power.Active.Import").value == Decimal("3200")
    state = ConnectorState.objects.get(pile__code="PILE-A1", connector_id=1)
    assert (state.energy_wh, state.power_w, state.current_a) == (Decimal("1600"), Decimal("3200"), Decimal("14"))
    assert state.voltage_v is None  # a phase value is not the connector's total
    assert not fault_reports().exists()  # nothing abnormal


@pytest.mark.parametrize("bad, message", [
    (sample(0, "Power.Active.Import", "5", "Wh"), "does not fit"),
    (sample(0, "Energy.Active.Import.Register", "5", "MWh"), "unknown unit"),
    (sample(0, "Energy.Teleported", "5", "Wh"), "unknown measurand"),
    ({**sample(0, "Voltage", "230", "V"), "value": 230.0}, "not floats"),
    ({**sample(0, "Voltage", "230", "V"), "value": "NaN"}, "not finite"),
    ({**sample(0, "Voltage", "230", "V"), "timestamp": dt.datetime(2026, 3, 1)}, "timezone-aware"),
    ({**sample(0, "Voltage", "230", "V"), "extra": 1}, "unexpected fields"),
    ({**sample(0, "Voltage", "230", "V"), "timestamp": dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)}, "future"),
])
def test_bad_sample_refuses_the_whole_batch(world, bad, message):
    good = sample(0, "Voltage", "230", "V")
    with pytest.raises(ingest.IngestError, match=message):
        ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[good, bad])
    assert not Reading.objects.exists()
    assert not ConnectorState.objects.exists()


def test_unknown_pile_and_bad_connector_refused(world):
    with pytest.raises(ingest.UnknownPile):
        ingest.record_meter_values(pile_code="NOPE-1", connector_id=1, samples=[sample(0, "Voltage", "230", "V")])
    with pytest.raises(ingest.UnknownPile):
        ingest.record_status(pile_code="NOPE-1", connector_id=1, status="Available", error_code="NoError",
                             info="", timestamp=T0, source="ocpp1.6")
    with pytest.raises(ingest.IngestError, match="connector id"):
        ingest.record_meter_values(pile_code="PILE-A1", connector_id=-1, samples=[sample(0, "Voltage", "230", "V")])
    with pytest.raises(ingest.IngestError, match="non-empty"):
        ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[])
    assert not Reading.objects.exists() and not StatusEvent.objects.exists()


def test_faulted_status_reported_once_while_ongoing(world):
    def status(minutes, value, code):
        return ingest.record_status(pile_code="PILE-A1", connector_id=1, status=value, error_code=code, info="",
                                    timestamp=T0 + dt.timedelta(minutes=minutes), source="ocpp1.6")

    status(0, "Available", "NoError")
    assert not fault_reports().exists()
    status(1, "Faulted", "GroundFailure")
    status(2, "Faulted", "GroundFailure")  # still the same fault
    [sub] = fault_reports()
    assert sub.type == "monitoring.fault_report"
    body = sub.body["payload"]
    assert (body["pile"], body["kind"], body["severity"], body["error_code"]) == ("PILE-A1", "status", "critical", "GroundFailure")
    assert sub.body["signer"] == "node:OP-A"
    status(3, "Available", "NoError")  # cleared: the next one is a new fault
    status(4, "Faulted", "GroundFailure")
    assert fault_reports().count() == 2
    assert ConnectorState.objects.get(pile__code="PILE-A1", connector_id=1).status == "Faulted"
    assert FaultWatch.objects.filter(cleared_at__isnull=True).count() == 1


def test_a_fault_and_its_end_in_one_group_commit_leave_no_fault_ongoing(world):
    def change(minutes, value, code, connector=1):
        return {"pile_code": "PILE-A1", "connector_id": connector, "status": value, "error_code": code, "info": "",
                "timestamp": T0 + dt.timedelta(minutes=minutes), "source": "ocpp1.6"}

    ingest.record_statuses_many([change(1, "Faulted", "GroundFailure"), change(2, "Available", "NoError"),
                                 change(2, "Faulted", "GroundFailure", connector=2)])
    assert fault_reports().count() == 2
    assert set(FaultWatch.objects.filter(cleared_at__isnull=True).values_list("connector_id", flat=True)) == {2}
    ingest.record_statuses_many([change(3, "Available", "NoError", connector=2), change(3, "Available", "NoError")])
    assert not FaultWatch.objects.filter(cleared_at__isnull=True).exists()


def test_meter_anomalies_reported(world):
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[
        sample(0, "Energy.Active.Import.Register", "5000", "Wh"),
        sample(1, "Energy.Active.Import.Register", "4990", "Wh"),
        sample(1, "Power.Active.Import", "7.7", "kW"),  # rated 7 kW, +10 % tolerance: at the limit, fine
    ])
    kinds = sorted(s.body["payload"]["kind"] for s in fault_reports())
    assert kinds == ["energy_backwards"]
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[sample(2, "Power.Active.Import", "7701", "W")])
    kinds = sorted(s.body["payload"]["kind"] for s in fault_reports())
    assert kinds == ["energy_backwards", "over_power"]
    assert all(s.body["payload"]["metering"] for s in fault_reports())


def test_many_messages_one_transaction_bad_ones_refused_alone(world):
    results = ingest.record_meter_values_many([
        {"pile_code": "PILE-A1", "connector_id": 1, "samples": [sample(0, "Voltage", "230", "V")]},
        {"pile_code": "GHOST-1", "connector_id": 1, "samples": [sample(0, "Voltage", "230", "V")]},
        {"pile_code": "PILE-B1", "connector_id": 2, "samples": [sample(0, "Power.Active.Import", "5", "Wh")]},
        {"pile_code": "PILE-B1", "connector_id": 1, "samples": [sample(0, "Power.Active.Import", "50", "kW"),
                                                                sample(1, "Power.Active.Import", "60", "kW")]},
        "not a message",
    ])
    assert results[0] == 1 and results[3] == 2
    assert isinstance(results[1], ingest.UnknownPile)
    assert isinstance(results[2], ingest.IngestError) and "does not fit" in str(results[2])
    assert isinstance(results[4], ingest.IngestError)
    assert Reading.objects.count() == 3
    assert ConnectorState.objects.get(pile__code="PILE-B1", connector_id=1).power_w == Decimal("60000")
    assert not ConnectorState.objects.filter(pile__code="PILE-B1", connector_id=2).exists()


def test_awkward_text_survives_the_bulk_path(world):
    awkward = "a\tb\\c\nd\re"
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[
        sample(0, "Voltage", "-0.000001", "V", phase="L1-N", context=awkward),
    ])
    reading = Reading.objects.get()
    assert (reading.context, reading.phase, reading.value, reading.ts) == (awkward, "L1-N", Decimal("-0.000001"), T0)
