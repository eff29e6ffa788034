"""Remote commands from the API and the web page to a really connected pile, through the channel
layer, with the pile's answer shown; only the pile's operator's managers and engineers may send them."""

import asyncio

import pytest

from tests.gateway.conftest import PASSWORD_A1, PASSWORD_B1
from tests.gateway.live import connect
from tests.gateway.pile_clients import Pile16, Pile201, serve

pytestmark = pytest.mark.django_db(transaction=True)


def _with_pile(server, pile_cls, pile, password, protocol, work):
    """Connect a pile client and run `work(cp)` (blocking, in a thread) while it serves."""

    async def scenario():
        ws = await connect(server.url, pile, password, protocol)
        cp = pile_cls(pile, ws)
        task = serve(cp)
        try:
            return await asyncio.to_thread(work, cp)
        finally:
            task.cancel()
            await ws.close()

    return asyncio.run(scenario())


def test_api_commands_round_trip_to_a_16_pile(server, api_client):
    client = api_client("a_manager")

    def work(cp):
        url = "/api/gateway/piles/PILE-A1/commands/"
        results = [
            client.post(url, {"action": "Reset", "params": {"type": "hard"}}, format="json"),
            client.post(url, {"action": "ChangeAvailability", "params": {"connector_id": 1, "operative": False}}, format="json"),
            client.post(url, {"action": "UnlockConnector", "params": {"connector_id": 1}}, format="json"),
            client.post(url, {"action": "TriggerMessage", "params": {"message": "StatusNotification", "connector_id": 1}}, format="json"),
        ]
        return [(r.status_code, r.json()) for r in results], list(cp.received)

    answers, received = _with_pile(server, Pile16, "PILE-A1", PASSWORD_A1, "ocpp1.6", work)
    assert [code for code, _ in answers] == [200] * 4
    assert [a["status"] for _, a in answers] == ["answered"] * 4
    assert answers[0][1]["response"] == {"status": "Accepted"}
    assert answers[2][1]["response"] == {"status": "Unlocked"}
    assert received == [
        ("Reset", {"type": "Hard"}),
        ("ChangeAvailability", {"connector_id": 1, "type": "Inoperative"}),
        ("UnlockConnector", {"connector_id": 1}),
        ("TriggerMessage", {"requested_message": "StatusNotification"}),
    ]
    listed = client.get("/api/gateway/piles/PILE-A1/commands/").json()
    assert [c["action"] for c in listed] == ["TriggerMessage", "UnlockConnector", "ChangeAvailability", "Reset"]
    assert listed[0]["requested_by"] == "a_manager"


def test_api_commands_in_201_form(server, api_client):
    client = api_client("b_manager")

    def work(cp):
        url = "/api/gateway/piles/PILE-B1/commands/"
        answers = [
            client.post(url, {"action": "Reset", "params": {"type": "soft"}}, format="json").json(),
            client.post(url, {"action": "ChangeAvailability", "params": {"connector_id": 2, "operative": True}}, format="json").json(),
            client.post(url, {"action": "UnlockConnector", "params": {"connector_id": 2}}, format="json").json(),
            client.post(url, {"action": "TriggerMessage", "params": {"message": "MeterValues", "connector_id": 2}}, format="json").json(),
        ]
        return answers, list(cp.received)

    answers, received = _with_pile(server, Pile201, "PILE-B1", PASSWORD_B1, "ocpp2.0.1", work)
    assert [a["status"] for a in answers] == ["answered"] * 4
    assert received == [
        ("Reset", {"type": "OnIdle"}),
        ("ChangeAvailability", {"operational_status": "Operative", "evse": {"id": 2, "connector_id": 1}}),
        ("UnlockConnector", {"evse_id": 2, "connector_id": 1}),
        ("TriggerMessage", {"requested_message": "MeterValues", "evse": {"id": 2}}),
    ]


def test_refused_answer_and_bad_parameters(server, api_client):
    client = api_client("a_manager")

    def work(cp):
        url = "/api/gateway/piles/PILE-A1/commands/"
        refused = client.post(url, {"action": "UnlockConnector", "params": {"connector_id": 2}}, format="json")
        bad = client.post(url, {"action": "TriggerMessage", "params": {"message": "MakeCoffee"}}, format="json")
        unknown = client.post(url, {"action": "Explode"}, format="json")
        return refused, bad, unknown, list(cp.received)

    refused, bad, unknown, received = _with_pile(server, Pile16, "PILE-A1", PASSWORD_A1, "ocpp1.6", work)
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert refused.json()["response"] == {"status": "NotSupported"}
    assert bad.status_code == 400 and unknown.status_code == 400
    assert received == [("UnlockConnector", {"connector_id": 2})]


def test_offline_pile_answers_at_once(server, api_client):
    response = api_client("a_manager").post(
        "/api/gateway/piles/PILE-A1/commands/", {"action": "Reset", "params": {}}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "offline"


@pytest.mark.parametrize("username,expected", [("b_manager", 404), ("a_viewer", 403), ("reg_manager", 404)])
def test_only_the_operator_may_command(server, api_client, username, expected):
    from gateway.models import RemoteCommand

    def work(cp):
        return api_client(username).post(
            "/api/gateway/piles/PILE-A1/commands/", {"action": "Reset", "params": {"type": "hard"}}, format="json"
        ), list(cp.received)

    response, received = _with_pile(server, Pile16, "PILE-A1", PASSWORD_A1, "ocpp1.6", work)
    assert response.status_code == expected
    assert received == [] and not RemoteCommand.objects.exists()


def test_web_page_sends_a_command_and_shows_the_result(server, user_client):
    client = user_client("a_manager")

    def work(cp):
        response = client.post("/gateway/piles/PILE-A1/commands/", {"action": "Reset", "reset_type": "soft"}, follow=True)
        return response, list(cp.received)

    response, received = _with_pile(server, Pile16, "PILE-A1", PASSWORD_A1, "ocpp1.6", work)
    assert response.status_code == 200 and received == [("Reset", {"type": "Soft"})]
    page = response.content.decode()
    assert "Accepted" in page and "Answered" in page
    listing = client.get("/gateway/").content.decode()
    assert "PILE-A1" in listing and "PILE-B1" not in listing
    assert user_client("b_manager").post("/gateway/piles/PILE-A1/commands/", {"action": "Reset"}).status_code == 404
    assert user_client("a_viewer").post("/gateway/piles/PILE-A1/commands/", {"action": "Reset"}).status_code == 403
