"""simulate_fleet against a live server: both protocol versions, OCMF-signed sessions with the
meter's private key from the node's devices directory, faults; then the piles, as light nodes,
verify their session records' receipts against headers they verified."""

import pytest
from django.core.management import call_command

from ledger.chain.crypto import P256, SigningKey
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db(transaction=True)


def test_fleet_charges_signs_faults_and_verifies_receipts(server, settings, tmp_path, capsys):
    from gateway.models import OcppTransaction
    from gateway.simulator.fleet import verify_sessions
    from gateway.simulator.spv import LedgerView
    from ledger.runtime import node
    from monitoring.models import StatusEvent
    from registry import services as registry_services
    from registry.models import User
    from settlement.models import ChargingSession

    settings.NODE_DIR = tmp_path
    (tmp_path / "devices").mkdir()
    meter = SigningKey.generate(P256)
    (tmp_path / "devices" / "PILE-A1.meter.pem").write_text(meter.to_pem())
    registry_services.device_key_add(
        actor=User.objects.get(username="admin"), pile="PILE-A1", purpose="meter", public_key=meter.public_key.to_pem()
    )

    call_command(
        "simulate_fleet", piles=2, url=server.url, sessions=2, meter_interval=0.1, meters_per_session=2,
        fault_rate=1.0, signed_share=1.0, no_spv=True, aligned=0.5,
    )
    out = capsys.readouterr().out
    assert "PILE-A1(ocpp1.6, OCMF)" in out and "PILE-B1(ocpp2.0.1)" in out
    assert "2 sessions" in out and "failed" not in out
    assert OcppTransaction.objects.filter(stopped=True).count() == 4
    # Clock-aligned register readings every half second, signed by the pile whose meter signs.
    from monitoring.models import SignedReading

    aligned = list(SignedReading.objects.filter(pile__code="PILE-A1"))
    assert aligned and all(r.ts.microsecond in (0, 500_000) for r in aligned)
    commit_all()
    sessions = ChargingSession.objects.order_by("pile__code")
    assert [s.pile.code for s in sessions] == ["PILE-A1"] * 2 + ["PILE-B1"] * 2
    assert all(s.energy_wh and s.energy_wh > 0 for s in sessions)
    signed = [s for s in sessions if s.pile.code == "PILE-A1"]
    assert all(s.status == "closed" and s.signature_ok and s.signed_energy_wh == s.energy_wh for s in signed)
    assert all(s.status == "closed" and s.signature_ok is None for s in sessions if s.pile.code == "PILE-B1")
    assert StatusEvent.objects.filter(status="Faulted").values("pile").distinct().count() == 2

    from registry import services

    def view_of(username):
        _, token = services.api_token_create(actor=User.objects.get(username=username), name="light nodes")
        return LedgerView(server.url.replace("ws://", "http://"), token, node.consortium().validators()), token

    view, token = view_of("a_manager")
    assert verify_sessions(view, ["PILE-A1", "PILE-B1"]) == {"PILE-A1": (4, 0, []), "PILE-B1": (0, 0, [])}
    view_b, _ = view_of("b_manager")  # OP-A's token sees nothing of OP-B's piles
    assert verify_sessions(view_b, ["PILE-B1"]) == {"PILE-B1": (4, 0, [])}
    # A forged receipt (another index) fails against the same verified headers.
    first = ChargingSession.objects.first()
    import requests

    receipt = requests.get(f"{view.api_url}/api/ledger/transactions/{first.opened_tx}/",
                           headers={"Authorization": f"Token {token}"}, timeout=10).json()["receipt"]
    forged = {**receipt, "tx_id": "0" * 64}
    assert not view.client.verify_receipt(forged).ok

    # The command's own light-node pass (no new sessions): every record verified, per operator.
    call_command("simulate_fleet", piles=2, url=server.url, sessions=0, fault_rate=0.0)
    out = capsys.readouterr().out
    assert "PILE-A1: 4 session records verified by receipt against verified headers" in out
    assert "PILE-B1: 4 session records verified by receipt against verified headers" in out
    assert "FAILED" not in out
