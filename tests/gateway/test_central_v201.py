"""An OCPP 2.0.1 pile against the live central system: boot, a transaction with signed meter values
(base64, as 2.0.1 carries them), NotifyEvent fault, StatusNotification."""

import asyncio
import base64
import datetime as dt

import pytest
from ocpp.v201 import call

from tests.ocmf import samples as ocmf_samples
from tests.gateway.conftest import PASSWORD_B1
from tests.gateway.live import connect, wait_for
from tests.gateway.pile_clients import Pile201, serve
from tests.utils.ledger import assert_never_on_ledger, commit_all

pytestmark = pytest.mark.django_db(transaction=True)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def energy(wh: float, signed: str | None = None) -> list[dict]:
    value = {"value": wh / 1000, "measurand": "Energy.Active.Import.Register", "unit_of_measure": {"unit": "kWh"}}
    if signed:
        value["signed_meter_value"] = {
            "signed_meter_data": base64.b64encode(signed.encode()).decode(), "signing_method": "ECDSA-secp256r1-SHA256",
            "encoding_method": "OCMF", "public_key": "",
        }
    return [{"timestamp": now_iso(), "sampled_value": [value]}]


def test_pile_201_boots_charges_and_faults(server):
    from gateway.models import OcppTransaction, Presence
    from monitoring.models import StatusEvent
    from settlement.models import ChargingSession
    from settlement.pseudonyms import id_tag_pseudonym

    async def scenario():
        ws = await connect(server.url, "PILE-B1", PASSWORD_B1, "ocpp2.0.1")
        assert ws.subprotocol == "ocpp2.0.1"
        cp = Pile201("PILE-B1", ws)
        task = serve(cp)
        boot = await cp.call(call.BootNotification(
            charging_station={"model": "DC-120", "vendor_name": "VendorBeta", "firmware_version": "2.4.0"},
            reason="PowerUp",
        ))
        assert boot.status == "Accepted"
        await cp.call(call.StatusNotification(timestamp=now_iso(), connector_status="Occupied", evse_id=2, connector_id=1))
        auth = await cp.call(call.Authorize(id_token={"id_token": "TOKEN-9", "type": "ISO14443"}))
        assert auth.id_token_info["status"] == "Accepted"
        base = {"transaction_info": {"transaction_id": "TX-201-1"}, "evse": {"id": 2, "connector_id": 1}}
        started = await cp.call(call.TransactionEvent(
            event_type="Started", timestamp=now_iso(), trigger_reason="Authorized", seq_no=0,
            id_token={"id_token": "TOKEN-9", "type": "ISO14443"}, meter_value=energy(2_000), **base,
        ))
        assert started.id_token_info["status"] == "Accepted"
        await cp.call(call.TransactionEvent(
            event_type="Updated", timestamp=now_iso(), trigger_reason="MeterValuePeriodic", seq_no=1,
            meter_value=energy(9_000), **base,
        ))
        await cp.call(call.MeterValues(evse_id=2, meter_value=[{"timestamp": now_iso(), "sampled_value": [
            {"value": 48_000, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W"}},
        ]}]))
        await cp.call(call.TransactionEvent(
            event_type="Ended", timestamp=now_iso(), trigger_reason="EVCommunicationLost", seq_no=2,
            meter_value=energy(21_000, signed=ocmf_samples.KEBA),
            **{**base, "transaction_info": {"transaction_id": "TX-201-1", "stopped_reason": "EVDisconnected"}},
        ))
        await cp.call(call.NotifyEvent(generated_at=now_iso(), seq_no=0, event_data=[{
            "event_id": 1, "timestamp": now_iso(), "trigger": "Delta", "actual_value": "Faulted",
            "event_notification_type": "HardWiredNotification", "tech_code": "OverTemperature",
            "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
            "variable": {"name": "AvailabilityState"},
        }]))
        task.cancel()
        await ws.close()

    asyncio.run(scenario())
    row = wait_for(lambda: OcppTransaction.objects.filter(pile_code="PILE-B1", transaction_id="TX-201-1",
                                                           close_tx__gt="").first())
    commit_all()
    session = ChargingSession.objects.get(uid=row.session_uid)
    assert (session.connector_id, session.meter_start_wh, session.meter_stop_wh) == (2, 2_000, 21_000)
    assert session.energy_wh == 19_000 and session.protocol == "ocpp2.0.1"
    assert session.id_tag == id_tag_pseudonym("TOKEN-9", operator="OP-B")
    assert_never_on_ledger("TOKEN-9")
    # PILE-B1 has no meter key: signed data that cannot be verified is a failure, never settled.
    assert session.status == "signature_failed" and session.signature_ok is False
    assert session.signature_detail == "no_meter_key"
    presence = Presence.objects.get(pile_code="PILE-B1")
    assert presence.protocol == "ocpp2.0.1" and presence.model == "DC-120"
    assert presence.connectors["1"] == {**presence.connectors["1"], "status": "Faulted", "error_code": "OverTemperature"}
    assert presence.connectors["2"]["status"] == "Occupied"
    assert StatusEvent.objects.filter(pile__code="PILE-B1", connector_id=1, status="Faulted", source="ocpp2.0.1").exists()
