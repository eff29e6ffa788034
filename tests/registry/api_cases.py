"""tests.utils.cases.APIEndpointCase for endpoints whose writes are ledger transactions: a write
answers 202 with the transaction to follow and where the object will be; the object appears there,
with the block height on its row, once the block commits; a refusal leaves no row and no
transaction behind."""

from __future__ import annotations

from tests.registry.ledger_checks import assert_accepted, counts, same_value
from tests.utils.cases import APIEndpointCase
from tests.utils.ledger import commit_all


class LedgerAPIEndpointCase(APIEndpointCase):
    model = None  # the registry model behind the endpoint, to check the committed row's height
    # Whether the 202 names the object's address. Endpoints whose public id is derived rather than
    # sent (connectors, keys) do not yet; test_api's test_an_accepted_key_or_connector_names_where_it_will_be
    # holds them to it, so that one test fails for that, not every generic one.
    answer_names_object = True

    def created_id(self, payload: dict) -> str:
        """The public id an accepted create will have."""
        return str(payload[self.lookup])

    def row(self, public_id: str):
        return self.model._default_manager.get(**{self.lookup: public_id})

    def assert_lands(self, client, response, public_id: str, payload: dict) -> None:
        body = assert_accepted(response)
        object_url = self.url(public_id)  # relative, like the transaction link
        if self.answer_names_object or "object" in body:
            assert body.get("object") == object_url, body
        before = client.get(object_url)
        [block] = commit_all()
        receipt = client.get(body["transaction"]).json()
        assert receipt["status"] == "applied" and receipt["block_height"] == block.height, receipt
        shown = client.get(object_url)
        assert shown.status_code == 200, shown.content
        for field, value in payload.items():
            if field in shown.json():
                assert same_value(shown.json()[field], value), (field, shown.json()[field], value)
        assert self.row(public_id).height == block.height
        return before

    def test_create(self, world, api_client):
        for username, payload, status in self.create:
            before = counts()
            client = api_client(username)
            response = client.post(self.url(), payload, format="json")
            assert response.status_code == status, (username, payload, response.content)
            if status >= 400:
                assert "error" in response.json()
                assert counts() == before, (username, payload)
                continue
            public_id = self.created_id(payload)
            early = self.assert_lands(client, response, public_id, payload)
            assert early.status_code == 404, (username, payload)  # not there while pending

    def test_update(self, world, api_client):
        for username, public_id, payload, status in self.update:
            before = counts()
            client = api_client(username)
            response = client.patch(self.url(public_id), payload, format="json")
            assert response.status_code == status, (username, public_id, response.content)
            if status == 202:
                early = self.assert_lands(client, response, public_id, payload)
                assert any(not same_value(early.json()[f], v) for f, v in payload.items() if f in early.json())
            else:
                assert counts() == before, (username, public_id, payload)
                if status == 200:  # nothing to change: the object as it is
                    for field, value in payload.items():
                        assert same_value(response.json()[field], value)
