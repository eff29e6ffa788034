"""REST ingestion of device-signed batches: stored whole, or refused whole with a clear reason."""

import copy

import pytest

from ledger.chain.crypto import P256, SigningKey
from monitoring.models import IngestBatch, Reading, StatusEvent
from monitoring.services.batches import signing_bytes
from tests.conftest import signing_key

pytestmark = pytest.mark.django_db
URL = "/api/monitoring/ingest/"


def batch(batch_id="b-1", sequence=1, **changes):
    body = {
        "pile": "PILE-A1", "batch_id": batch_id, "sequence": sequence,
        "readings": [
            {"connector_id": 1, "timestamp": "2026-03-01T08:00:00Z", "measurand": "Energy.Active.Import.Register",
             "value": "12.5", "unit": "kWh", "phase": None, "context": "Sample.Periodic"},
            {"connector_id": 1, "timestamp": "2026-03-01T08:01:00Z", "measurand": "Power.Active.Import",
             "value": "3.3", "unit": "kW", "phase": None, "context": None},
        ],
        "statuses": [{"connector_id": 1, "timestamp": "2026-03-01T08:00:30Z", "status": "Charging", "error_code": "NoError", "info": ""}],
    }
    body.update(changes)
    return body


def signed(body, key=None):
    key = key or signing_key(1)
    return {"batch": body, "signature": key.sign(signing_bytes(body)).hex()}


def post(client, data):
    return client.post(URL, data, format="json")


def nothing_stored():
    return not Reading.objects.exists() and not StatusEvent.objects.exists() and not IngestBatch.objects.exists()


def test_signed_batch_is_stored_with_units_normalised(world, api_client):
    client = api_client(None)  # the device signature is the credential
    response = post(client, signed(batch()))
    assert response.status_code == 201, response.json()
    assert response.json() == {"pile": "PILE-A1", "batch_id": "b-1", "sequence": 1, "readings": 2, "statuses": 1}
    values = sorted((r.measurand, r.value, r.unit, r.source) for r in Reading.objects.all())
    assert [(m, format(v.normalize(), "f"), u, s) for m, v, u, s in values] == [
        ("Energy.Active.Import.Register", "12500", "Wh", "rest"), ("Power.Active.Import", "3300", "W", "rest")]
    assert StatusEvent.objects.get().status == "Charging"
    assert post(client, signed(batch("b-2", 2))).status_code == 201


@pytest.mark.parametrize("mutate, status, code", [
    (lambda d: d.update(signature=signing_key(2).sign(signing_bytes(d["batch"])).hex()), 403, "bad_signature"),  # B1's key
    (lambda d: d["batch"]["readings"][0].update(value="99"), 403, "bad_signature"),  # altered after signing
    (lambda d: d.update(signature="zz"), 400, "malformed"),
    (lambda d: d.pop("signature"), 400, "malformed"),
    (lambda d: d.update(batch="not an object"), 400, "malformed"),
])
def test_forged_or_malformed_refused(world, api_client, mutate, status, code):
    data = copy.deepcopy(signed(batch()))
    mutate(data)
    response = post(api_client(None), data)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert nothing_stored()


def test_unknown_device_and_keyless_pile(world, api_client):
    assert post(api_client(None), signed(batch(pile="NOPE-9"))).json()["error"]["code"] == "unknown_device"
    from registry.models import DeviceKey

    DeviceKey.objects.filter(pile__code="PILE-A1", purpose="device").update(status="revoked")
    response = post(api_client(None), signed(batch()))
    assert response.status_code == 403 and "no active device key" in response.json()["error"]["detail"]
    assert nothing_stored()


def test_wrong_units_and_bad_fields_refuse_the_whole_batch(world, api_client):
    client = api_client(None)
    bad_unit = batch()
    bad_unit["readings"][1]["unit"] = "Wh"  # a power in Wh
    response = post(client, signed(bad_unit))
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_unit"
    assert "does not fit" in response.json()["error"]["detail"]
    unknown_unit = batch()
    unknown_unit["readings"][0]["unit"] = "BTU"
    assert post(client, signed(unknown_unit)).json()["error"]["code"] == "bad_unit"
    no_zone = batch()
    no_zone["statuses"][0]["timestamp"] = "2026-03-01T08:00:30"
    assert "time zone" in post(client, signed(no_zone)).json()["error"]["detail"]
    bad_status = batch()
    bad_status["statuses"][0]["connector_id"] = "one"
    assert post(client, signed(bad_status)).status_code == 400
    assert post(client, signed(batch(extra=1))).status_code == 400
    assert nothing_stored()


def test_replays_refused(world, api_client):
    client = api_client(None)
    first = signed(batch("b-1", 5))
    assert post(client, first).status_code == 201
    again = post(client, first)
    assert again.status_code == 409 and again.json()["error"]["code"] == "replay"
    assert post(client, signed(batch("b-2", 5))).status_code == 409  # sequence reused
    assert post(client, signed(batch("b-3", 4))).status_code == 409  # sequence going back
    assert Reading.objects.count() == 2 and IngestBatch.objects.count() == 1


def test_p256_device_key(world, api_client):
    from registry.models import DeviceKey, Pile
    from registry.models.keys import fingerprint_of

    key = SigningKey.generate(P256)
    DeviceKey.objects.filter(pile__code="PILE-A1", purpose="device").update(status="revoked")
    DeviceKey.objects.create(pile=Pile.objects.get(code="PILE-A1"), purpose="device", kind=P256,
                             public_key_hex=key.public_key.hex, fingerprint=fingerprint_of(key.public_key.raw))
    assert post(api_client(None), signed(batch(), key)).status_code == 201
