"""Bad input over OCPP: the CALLERROR each version prescribes, the connection kept; oversized frames
close with 1009; unknown piles, wrong passwords and missing subprotocols are refused at the handshake."""

import asyncio
import json

import pytest
import websockets

from tests.gateway.conftest import PASSWORD_A1, PASSWORD_B1
from tests.gateway.live import connect, raw_call

pytestmark = pytest.mark.django_db(transaction=True)

BOOT16 = '[2,"b1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]'
BOOT201 = '[2,"b1","BootNotification",{"chargingStation":{"vendorName":"V","model":"M"},"reason":"PowerUp"}]'

CASES_16 = [
    ("this is not json", ["-1", "FormationViolation"]),
    ('{"an": "object"}', ["-1", "FormationViolation"]),
    ("[2]", ["-1", "FormationViolation"]),
    ('[9,"m1","Heartbeat",{}]', ["m1", "FormationViolation"]),
    ('[2,"m2","Heartbeat"]', ["m2", "FormationViolation"]),
    ('[2,"m3","MakeCoffee",{}]', ["m3", "NotImplemented"]),
    ('[2,"m4","DataTransfer",{"vendorId":"x"}]', ["m4", "NotSupported"]),
    ('[2,"m5","StartTransaction",{"connectorId":"one","idTag":"T","meterStart":0,"timestamp":"2026-01-01T00:00:00Z"}]',
     ["m5", "TypeConstraintViolation"]),
    ('[2,"m6","StatusNotification",{"connectorId":1,"status":"Available"}]', ["m6", "ProtocolError"]),
    ('[2,"m7","Heartbeat",{"surprise":1}]', ["m7", "FormationViolation"]),
    ('[2,"m8","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-01-01T00:00:00Z",'
     '"sampledValue":[{"value":"lots"}]}]}]', ["m8", "TypeConstraintViolation"]),
    ('[2,"m9","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-01-01T00:00:00Z",'
     '"sampledValue":[{"value":"12","unit":"furlongs"}]}]}]', ["m9", "FormationViolation"]),
]

CASES_201 = [
    ("this is not json", ["-1", "RpcFrameworkError"]),
    ('[2,17,"Heartbeat",{}]', ["-1", "RpcFrameworkError"]),
    ('[7,"m1","Heartbeat",{}]', ["m1", "MessageTypeNotSupported"]),
    ('[2,"m3","MakeCoffee",{}]', ["m3", "NotImplemented"]),
    ('[2,"m4","DataTransfer",{"vendorId":"x"}]', ["m4", "NotSupported"]),
    ('[2,"m5","StatusNotification",{"timestamp":"2026-01-01T00:00:00Z","connectorStatus":"Available",'
     '"evseId":"one","connectorId":1}]', ["m5", "TypeConstraintViolation"]),
    ('[2,"m6","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"2026-01-01T00:00:00Z",'
     '"sampledValue":[{"value":5,"unitOfMeasure":{"unit":"parsecs"}}]}]}]', ["m6", "PropertyConstraintViolation"]),
]


def _check(server, pile, password, protocol, boot, cases):
    async def scenario():
        ws = await connect(server.url, pile, password, protocol)
        for frame, (unique_id, code) in cases:
            answer = await raw_call(ws, frame)
            assert answer[:3] == [4, unique_id, code], (frame, answer)
            assert isinstance(answer[3], str) and isinstance(answer[4], dict)
        # Still connected and served.
        answer = await raw_call(ws, boot)
        assert answer[0] == 3 and answer[1] == "b1" and answer[2]["status"] == "Accepted"
        await ws.close()

    asyncio.run(scenario())


def test_bad_frames_16_get_the_prescribed_callerror_and_the_connection_stays(server):
    _check(server, "PILE-A1", PASSWORD_A1, "ocpp1.6", BOOT16, CASES_16)


def test_bad_frames_201_get_the_prescribed_callerror_and_the_connection_stays(server):
    _check(server, "PILE-B1", PASSWORD_B1, "ocpp2.0.1", BOOT201, CASES_201)


def test_malformed_answers_are_dropped_without_reply(server):
    async def scenario():
        ws = await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp1.6")
        await ws.send('[3,"nobody-asked"]')
        await ws.send('[4,"x"]')
        answer = await raw_call(ws, BOOT16)  # the next frame back is the boot's answer
        assert answer[:2] == [3, "b1"]
        await ws.close()

    asyncio.run(scenario())


def test_oversized_frame_closes_with_1009(server, settings):
    settings.GATEWAY_MAX_FRAME_BYTES = 4096

    async def scenario():
        ws = await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp1.6")
        payload = json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "y" * 5000}])
        await ws.send(payload)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 1009

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "pile,password,protocol",
    [
        ("PILE-ZZ", PASSWORD_A1, "ocpp1.6"),          # unknown pile
        ("PILE-A1", "wrong-password-0000000", "ocpp1.6"),  # wrong password
        ("PILE-A1", PASSWORD_B1, "ocpp2.0.1"),         # another pile's password
        ("PILE-A1", None, "ocpp1.6"),                  # no credentials at all
        ("PILE-A1", PASSWORD_A1, "ocpp0.9"),           # no protocol we speak
    ],
)
def test_handshake_refusals(server, pile, password, protocol):
    from gateway.models import Presence

    async def scenario():
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(server.url, pile, password, protocol)
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())
    assert not Presence.objects.filter(connected=True).exists()


def test_basic_user_must_be_the_charge_point(server):
    import base64

    async def scenario():
        header = {"Authorization": "Basic " + base64.b64encode(f"PILE-B1:{PASSWORD_A1}".encode()).decode()}
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(f"{server.url}/ocpp/PILE-A1", subprotocols=["ocpp1.6"], additional_headers=header)

    asyncio.run(scenario())


def test_retired_pile_is_refused_and_its_boot_rejected(server):
    from registry.models import Pile

    async def scenario():
        ws = await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp1.6")
        await asyncio.to_thread(lambda: Pile.objects.filter(code="PILE-A1").update(status="retired"))
        answer = await raw_call(ws, BOOT16)
        assert answer[2]["status"] == "Rejected"
        await ws.close()
        with pytest.raises(websockets.InvalidStatus):
            await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp1.6")

    asyncio.run(scenario())


def test_reconnection_replaces_the_old_connection(server):
    from gateway.models import Presence

    async def scenario():
        old = await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp1.6")
        new = await connect(server.url, "PILE-A1", PASSWORD_A1, "ocpp2.0.1")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(old.recv(), 10)
        assert closed.value.rcvd.code == 1000
        answer = await raw_call(new, BOOT201)
        assert answer[2]["status"] == "Accepted"
        presence = await asyncio.to_thread(lambda: Presence.objects.get(pile_code="PILE-A1"))
        assert presence.connected and presence.protocol == "ocpp2.0.1"  # the old one's goodbye changed nothing
        await new.close()

    asyncio.run(scenario())
