"""Settlement's session contracts as every node runs them: the signer must operate the pile,
sessions open once and close once, a meter going backwards is disputed, bad payloads are refused."""

import datetime as dt

import pytest

from ledger.models import CommittedTx
from ledger.services import node_submit
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.timezone.utc)


def _open(**overrides):
    from settlement.services import sessions as services

    args = dict(pile="PILE-A1", connector_id=1, transaction_id="77", id_tag="TAG", protocol="ocpp1.6",
                started_at=T0, meter_start_wh=1000)
    return services.session_open(**{**args, **overrides})


def _outcome(submission):
    return CommittedTx.objects.values_list("status", "reason").get(tx_id=submission.tx_id)


def test_open_and_close_with_payload_naming_the_pile(world):
    from settlement.services import sessions as services
    from settlement.models import ChargingSession

    submission, uid = _open()
    assert submission.body["payload"]["pile"] == "PILE-A1" and submission.body["signer"] == "node:OP-A"
    close = services.session_close(pile="PILE-A1", session=uid, stopped_at=T0 + dt.timedelta(hours=1),
                                   meter_stop_wh=4000, stop_reason="Local")
    block = commit_pending()
    assert block.applied == 2 and _outcome(close) == ("applied", "")
    session = ChargingSession.objects.get(uid=uid)
    assert (session.status, session.energy_wh, session.signature_ok, session.opened_height) == ("closed", 3000, None, block.height)


def test_another_operator_cannot_sign_for_the_pile(world):
    submission = node_submit(type="settlement.session_open", institution="OP-B", check=False, payload={
        "pile": "PILE-A1", "connector_id": 1, "transaction_id": "1", "id_tag": "", "protocol": "ocpp1.6",
        "started_at": T0.isoformat(), "meter_start_wh": 0,
    })
    commit_pending()
    assert _outcome(submission) == ("rejected", "OP-B does not operate pile PILE-A1")


def test_a_metrology_node_may_not_open_sessions(world):
    submission = node_submit(type="settlement.session_open", institution="METRO", check=False, payload={})
    commit_pending()
    assert _outcome(submission)[0] == "rejected" and "metrology" in _outcome(submission)[1]


@pytest.mark.parametrize("change,reason", [
    ({"connector_id": 9}, "no connector 9"),
    ({"connector_id": True}, "connector_id must be a positive integer"),
    ({"meter_start_wh": -5}, "meter_start_wh must be a whole number of Wh"),
    ({"started_at": "yesterday"}, "started_at must be an ISO 8601 time"),
    ({"started_at": "2026-11-25T08:00:00"}, "started_at must carry a time zone"),
    ({"protocol": "ocpp2.1"}, "protocol must be"),
    ({"pile": "PILE-ZZ"}, "no pile PILE-ZZ"),
    ({"extra": 1}, "a session opens with exactly"),
])
def test_bad_open_payloads_are_refused(world, change, reason):
    payload = {"pile": "PILE-A1", "connector_id": 1, "transaction_id": "1", "id_tag": "", "protocol": "ocpp1.6",
               "started_at": T0.isoformat(), "meter_start_wh": 0, **change}
    submission = node_submit(type="settlement.session_open", institution="OP-A", check=False, payload=payload)
    commit_pending()
    status, why = _outcome(submission)
    assert status == "rejected" and reason in why


def test_duplicates_and_closing_twice_are_refused_backwards_meter_disputed(world):
    from settlement.services import sessions as services
    from settlement.models import ChargingSession

    first, uid = _open()
    commit_pending()
    with pytest.raises(Exception, match="already open"):
        _open()  # the service's dry run refuses at once
    stop = dict(pile="PILE-A1", session=uid, stopped_at=T0 + dt.timedelta(minutes=5), meter_stop_wh=900,
                stop_reason="Local")
    close = services.session_close(**stop)
    again = services.session_close(**stop)
    commit_pending()
    assert _outcome(close)[0] == "applied"
    assert _outcome(again) == ("rejected", "the session is not open")
    session = ChargingSession.objects.get(uid=uid)
    assert session.status == "disputed" and session.energy_wh is None and "backwards" in session.status_detail
    assert not session.settleable
    stranger = services.session_close(**{**stop, "pile": "PILE-B1"})
    commit_pending()
    assert "has no session" in _outcome(stranger)[1]


def test_the_verification_detail_holds_codes_not_library_messages(world):
    """signature_detail is hashed state: the text of an exception from json, datetime or
    `cryptography` changes between versions, so two nodes would hash different bytes. Codes only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from settlement.services import sessions as services
    from settlement.models import ChargingSession
    from tests.ocmf.test_ocmf import payload, reading, sign

    meter = ec.generate_private_key(ec.SECP256R1())
    point = meter.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    node_submit(type="registry.device_key_add", institution="OP-A", payload={
        "pile": "PILE-A1", "kind": "p256", "public_key_hex": point.hex(), "purpose": "meter"})
    commit_pending()
    impossible_day = sign(payload(reading().replace("2026-11-25T", "2026-02-30T")), key=meter)
    cases = {
        "77": (['OCMF|{"FV":|{"SD":"00"}'], False, "record 0: bad_json; record 0: bad_json"),  # one per meter key
        "78": ([impossible_day], True, "record 0: malformed; no_begin"),  # authentic, but no date
    }
    uids = {}
    for tid, (records, _, _) in cases.items():
        _, uids[tid] = _open(transaction_id=tid)
        commit_pending()
        services.session_close(pile="PILE-A1", session=uids[tid], stopped_at=T0 + dt.timedelta(hours=1),
                               meter_stop_wh=4000, stop_reason="Local", signed_data=records)
        commit_pending()
    for tid, (_, ok, detail) in cases.items():
        session = ChargingSession.objects.get(uid=uids[tid])
        assert (session.signature_ok, session.signature_detail) == (ok, detail)


def test_session_api_shows_sessions_to_their_operator_and_overseers(world, api_client):
    from settlement.services import sessions as services

    _, uid = _open()
    services.session_close(pile="PILE-A1", session=uid, stopped_at=T0 + dt.timedelta(hours=1), meter_stop_wh=2500)
    commit_pending()
    mine = api_client("a_viewer").get("/api/settlement/sessions/").json()["results"]
    assert [(s["uid"], s["pile"], s["energy_wh"], s["status"], s["settleable"]) for s in mine] == [
        (str(uid), "PILE-A1", 1500, "closed", True)
    ]
    assert api_client("reg_manager").get(f"/api/settlement/sessions/{uid}/").status_code == 200
    # A page at a time; a filter value that cannot match is refused, not answered with nothing.
    _open(transaction_id="tx-2", started_at=T0 + dt.timedelta(hours=2))
    commit_pending()
    paged = api_client("a_viewer").get("/api/settlement/sessions/", {"page_size": 1}).json()
    assert paged["count"] == 2 and [s["status"] for s in paged["results"]] == ["open"]  # newest first
    assert api_client("a_viewer").get(paged["next"]).json()["results"][0]["uid"] == str(uid)
    closed = api_client("a_viewer").get("/api/settlement/sessions/", {"status": "closed"}).json()
    assert [s["uid"] for s in closed["results"]] == [str(uid)]
    bad = api_client("a_viewer").get("/api/settlement/sessions/", {"status": "finished"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    assert api_client("a_viewer").get("/api/settlement/sessions/", {"page": 3}).status_code == 404
    assert api_client("b_manager").get("/api/settlement/sessions/").json()["results"] == []
    assert api_client("b_manager").get(f"/api/settlement/sessions/{uid}/").status_code == 404
    assert api_client("grid_manager").get("/api/settlement/sessions/").json()["results"] == []
    assert api_client(None).get("/api/settlement/sessions/").status_code in (401, 403)
