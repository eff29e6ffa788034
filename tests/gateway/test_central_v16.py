"""An OCPP 1.6 pile against the live central system: boot, charge with OCMF-signed data, fault."""

import asyncio
import datetime as dt

import pytest
from ocpp.v16 import call

from tests.ocmf import samples as ocmf_samples
from tests.gateway.conftest import PASSWORD_A1
from tests.gateway.live import connect, wait_for
from tests.gateway.pile_clients import Pile16, serve
from tests.utils.ledger import assert_never_on_ledger, commit_all

pytestmark = pytest.mark.django_db(transaction=True)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _charge(server, signed_record: str):
    """Boot, plug in, charge 1.5 kWh with meter values, stop with the meter's signed record."""

    async def scenario():
        ws = await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp1.6")
        assert ws.subprotocol == "ocpp1.6"
        cp = Pile16("PILE-A1", ws)
        task = serve(cp)
        boot = await cp.call(call.BootNotification(charge_point_model="ModelA", charge_point_vendor="VendorAlpha"))
        assert boot.status == "Accepted" and boot.interval > 0
        assert (await cp.call(call.Heartbeat())).current_time
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Preparing", timestamp=now_iso()))
        assert (await cp.call(call.Authorize(id_tag="TAG-1"))).id_tag_info["status"] == "Accepted"
        start = await cp.call(call.StartTransaction(connector_id=1, id_tag="TAG-1", meter_start=10_000, timestamp=now_iso()))
        assert start.id_tag_info["status"] == "Accepted" and start.transaction_id > 0
        await cp.call(call.MeterValues(connector_id=1, transaction_id=start.transaction_id, meter_value=[{
            "timestamp": now_iso(),
            "sampled_value": [
                {"value": "10750", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "7.1", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "229.5", "measurand": "Voltage", "unit": "V", "phase": "L1-N"},
            ],
        }]))
        stop = await cp.call(call.StopTransaction(
            meter_stop=11_500, timestamp=now_iso(), transaction_id=start.transaction_id, reason="EVDisconnected",
            id_tag="TAG-1", transaction_data=[{"timestamp": now_iso(), "sampled_value": [
                {"value": signed_record, "format": "SignedData", "context": "Transaction.End"},
            ]}],
        ))
        assert stop.id_tag_info["status"] == "Accepted"
        # The fault: a ground failure on connector 1.
        await cp.call(call.StatusNotification(
            connector_id=1, error_code="GroundFailure", status="Faulted", info="RCD tripped", timestamp=now_iso()
        ))
        task.cancel()
        await ws.close()
        return start.transaction_id

    return asyncio.run(scenario())


def _session(transaction_id):
    from gateway.models import OcppTransaction
    from settlement.models import ChargingSession

    row = wait_for(lambda: OcppTransaction.objects.filter(transaction_id=str(transaction_id), close_tx__gt="").first())
    commit_all()
    return ChargingSession.objects.get(uid=row.session_uid)


def test_pile_16_boots_charges_with_signed_data_and_faults(server):
    from gateway.models import OcppTransaction, Presence
    from settlement.pseudonyms import id_tag_pseudonym
    from ledger.models import CommittedTx

    transaction_id = _charge(server, ocmf_samples.KEBA)
    session = _session(transaction_id)
    assert session.status == "closed"
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (10_000, 11_500, 1_500)
    assert session.signature_ok is True and session.signed_data == [ocmf_samples.KEBA]
    assert session.signed_energy_wh == 0  # the KEBA sample spans 0.1 Wh
    # The ledger carries the operator node's pseudonym of the tag; the raw tag stays in the gateway's row.
    assert (session.protocol, session.stop_reason) == ("ocpp1.6", "EVDisconnected")
    assert session.id_tag == id_tag_pseudonym("TAG-1", operator="OP-A") and len(session.id_tag) == 64
    assert OcppTransaction.objects.get(session_uid=session.uid).id_tag == "TAG-1"
    assert_never_on_ledger("TAG-1")
    assert session.settleable
    # Signed by OP-A's node, the pile's operator, both ways.
    signers = set(CommittedTx.objects.filter(type__startswith="settlement.session").values_list("signer", flat=True))
    assert signers == {"node:OP-A"}
    presence = Presence.objects.get(pile_code="PILE-A1")
    assert presence.protocol == "ocpp1.6" and presence.boot_status == "Accepted" and not presence.connected
    assert presence.connectors["1"]["status"] == "Faulted"
    assert presence.connectors["1"]["error_code"] == "GroundFailure"
    # Monitoring got the readings (kW as sent; it normalises) and the fault.
    from monitoring.models import Reading, StatusEvent

    assert Reading.objects.filter(pile__code="PILE-A1", measurand="Power.Active.Import").exists()
    assert StatusEvent.objects.filter(pile__code="PILE-A1", status="Faulted", error_code="GroundFailure").exists()


def test_tampered_signed_data_marks_the_session_and_it_is_not_settleable(server):
    transaction_id = _charge(server, ocmf_samples.KEBA_TAMPERED)
    session = _session(transaction_id)
    assert session.status == "signature_failed"
    assert session.signature_ok is False and "signature" in session.signature_detail
    assert session.energy_wh == 1_500  # kept for the record, but never settled silently
    assert not session.settleable


def test_a_signed_record_naming_the_raw_tag_stays_off_the_ledger(server):
    from gateway.models import OcppTransaction

    naming = ocmf_samples.KEBA.replace('"IT":"NONE","ID":""', '"IT":"ISO14443","ID":"TAG-1"')
    transaction_id = _charge(server, naming)
    session = _session(transaction_id)
    assert session.signed_data == [] and session.signature_ok is None
    row = OcppTransaction.objects.get(session_uid=session.uid)
    assert row.signed_data == [naming] and "raw id tag" in row.problem  # kept node-local, and said why
    assert_never_on_ledger("TAG-1")


def test_clock_aligned_signed_readings_are_kept_and_authorizations_counted(server):
    """What the interval reports carry: a pile's signed register at an interval boundary (MeterValues
    outside a transaction, Sample.Clock), and each Authorize asked."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from gateway.simulator.ocmf_signer import signed_register_record
    from monitoring.models import AuthorizationAttempt, SignedReading

    boundary = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    record = signed_register_record(ec.generate_private_key(ec.SECP256R1()), meter_serial="M", pagination=1,
                                    at=boundary, wh=20_000)

    async def scenario():
        ws = await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp1.6")
        cp = Pile16("PILE-A1", ws)
        task = serve(cp)
        await cp.call(call.BootNotification(charge_point_model="ModelA", charge_point_vendor="VendorAlpha"))
        await cp.call(call.MeterValues(connector_id=1, meter_value=[{
            "timestamp": boundary.isoformat(), "sampled_value": [
                {"value": "20000", "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Clock"},
                {"value": record, "format": "SignedData", "context": "Sample.Clock"},
                {"value": "OCMF|not|ocmf", "format": "SignedData", "context": "Sample.Clock"},
            ]}]))
        assert (await cp.call(call.Authorize(id_tag="TAG-9"))).id_tag_info["status"] == "Accepted"
        task.cancel()
        await ws.close()

    asyncio.run(scenario())
    kept = wait_for(lambda: SignedReading.objects.filter(pile__code="PILE-A1").first())
    assert (kept.connector_id, kept.ts, kept.wh, kept.record) == (1, boundary, 20_000, record)
    assert SignedReading.objects.count() == 1
    attempt = AuthorizationAttempt.objects.get(pile__code="PILE-A1")
    assert attempt.accepted is True
