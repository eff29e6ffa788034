"""The REST API: per-role visibility, private fields, writes through services (202 and a ledger
transaction to follow; the object once its block commits), the error body."""

from datetime import date, timedelta

import pytest

from ledger.chain.crypto import P256, PublicKey, SigningKey
from registry.models import Connector, DeviceKey, FieldTestBox, GridArea, Pile, Station
from registry.models.keys import fingerprint_of
from tests.conftest import ALL_USERNAMES, signing_key
from tests.registry.api_cases import LedgerAPIEndpointCase
from tests.registry.expectations import (
    AREAS, PILES, PRIVATE_BY_STATION, PRIVATE_PILES, STATIONS, TEST_BOXES_VISIBLE, everyone,
)
from tests.registry.ledger_checks import assert_accepted, assert_applied, counts
from tests.utils.cases import APIEndpointCase, assert_error_body
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db

NEW_PILE = {"station": "ST-A", "code": "PILE-A2", "kind": "dc", "rated_power_kw": "60.0", "accuracy_class": 1}


class TestInstitutionAPI(APIEndpointCase):
    endpoint = "institutions"
    lookup = "code"
    visible = everyone({"OP-A", "OP-B", "METRO", "METRO-2", "GRID-1", "GRID-2", "REG"})
    create = [("admin", {"code": "NEW", "name": "New", "role": "operator"}, 405)]


class TestGridAreaAPI(LedgerAPIEndpointCase):
    model = GridArea
    endpoint = "grid-areas"
    lookup = "code"
    visible = everyone(AREAS)
    create = [
        ("grid_manager", {"owner": "GRID-1", "code": "AREA-3", "name": "Three", "capacity_kw": "100"}, 202),
        ("grid_manager", {"owner": "GRID-2", "code": "AREA-4", "name": "Not mine", "capacity_kw": "100"}, 403),
        ("a_manager", {"owner": "GRID-1", "code": "AREA-5", "name": "Operator", "capacity_kw": "100"}, 403),
        ("reg_manager", {"owner": "GRID-1", "code": "AREA-6", "name": "Regulator", "capacity_kw": "100"}, 403),
        # A grid area owned by an institution that is not a grid company.
        ("admin", {"owner": "OP-A", "code": "AREA-7", "name": "Wrong owner", "capacity_kw": "100"}, 400),
        ("grid_manager", {"owner": "GRID-1", "code": "area-1", "name": "Bad code", "capacity_kw": "100"}, 400),
    ]
    update = [
        ("grid_manager", "AREA-1", {"capacity_kw": "900.0"}, 202),
        ("grid_manager", "AREA-1", {"capacity_kw": "900"}, 200),  # the same value: nothing to send
        ("grid2_manager", "AREA-1", {"capacity_kw": "1.0"}, 403),
        ("reg_manager", "AREA-1", {"capacity_kw": "1.0"}, 403),
    ]

    def test_identity_fields_are_read_only(self, world, api_client):
        before = counts()
        response = api_client("grid_manager").patch(self.url("AREA-1"), {"code": "AREA-9", "owner": "GRID-2"})
        assert response.status_code == 200
        assert response.json()["code"] == "AREA-1" and response.json()["owner"] == "GRID-1"
        assert counts() == before  # nothing was sent


class TestStationAPI(LedgerAPIEndpointCase):
    model = Station
    endpoint = "stations"
    lookup = "code"
    visible = everyone(STATIONS)
    private_fields = ("contact_name", "contact_phone", "notes")
    private_visible = PRIVATE_BY_STATION
    base = {"name": "New", "address": "3 Huaihai Road", "latitude": "31.2200", "longitude": "121.4600"}
    create = [
        ("a_manager", {**base, "operator": "OP-A", "code": "ST-A2", "grid_area": "AREA-1"}, 202),
        ("a_viewer", {**base, "operator": "OP-A", "code": "ST-A3", "grid_area": "AREA-1"}, 403),
        ("b_manager", {**base, "operator": "OP-A", "code": "ST-A4", "grid_area": "AREA-1"}, 403),
        ("reg_manager", {**base, "operator": "OP-A", "code": "ST-A5", "grid_area": "AREA-1"}, 403),
        ("grid_manager", {**base, "operator": "OP-A", "code": "ST-A6", "grid_area": "AREA-1"}, 403),
    ]
    update = [
        ("a_manager", "ST-A", {"name": "Renamed"}, 202),
        ("b_manager", "ST-A", {"name": "Hijacked"}, 403),
        ("reg_manager", "ST-A", {"name": "Regulated"}, 403),
        # This test node is OP-A's: it cannot open ST-B's sealed contacts, so it may change them only
        # by giving all three anew (registry.services.sites).
        ("admin", "ST-B", {"contact_phone": "+86 21 1"}, 400),
        ("a_manager", "ST-A", {"contact_phone": "+86 21 1"}, 202),
    ]

    @pytest.mark.parametrize(
        "change, field",
        [
            ({"latitude": "91.0"}, "latitude"),
            ({"latitude": "-31.2"}, "latitude"),  # sign flipped: southern hemisphere
            ({"longitude": "0.0"}, "longitude"),
            ({"latitude": "121.47", "longitude": "31.23"}, "latitude"),  # swapped
            ({"latitude": "not a number"}, "latitude"),
            ({"grid_area": "NO-SUCH-AREA"}, "grid_area"),
            ({"operator": "METRO"}, "operator"),  # a station (and its piles) for a non-operator
            ({"operator": "GRID-1"}, "operator"),
            ({"code": "ST-B"}, "code"),  # duplicate
        ],
    )
    def test_bad_input_is_refused_with_field_errors(self, world, api_client, change, field):
        payload = {**self.base, "operator": "OP-A", "code": "ST-NEW", "grid_area": "AREA-1", **change}
        before = counts()
        response = api_client("admin").post(self.url(), payload, format="json")
        assert_error_body(response, 400, field)
        assert counts() == before


class TestPileAPI(LedgerAPIEndpointCase):
    model = Pile
    endpoint = "piles"
    lookup = "code"
    visible = everyone(PILES)
    private_fields = ("vendor", "model_name", "serial_number", "firmware_version")
    private_visible = PRIVATE_PILES
    create = [
        ("a_manager", NEW_PILE, 202),
        ("a_viewer", {**NEW_PILE, "code": "PILE-A3"}, 403),
        ("b_manager", {**NEW_PILE, "code": "PILE-A4"}, 403),  # another operator's station
        ("metro_manager", {**NEW_PILE, "code": "PILE-A5"}, 403),
        ("reg_manager", {**NEW_PILE, "code": "PILE-A6"}, 403),
        ("a_manager", {**NEW_PILE, "code": "pile-a1"}, 400),  # duplicate, case-insensitively
        ("a_manager", {**NEW_PILE, "code": "PILE A7"}, 400),  # not a valid OCPP identity
        ("a_manager", {**NEW_PILE, "code": "PILE-A8", "station": "NO-SUCH"}, 400),
        ("a_manager", {**NEW_PILE, "code": "PILE-A9", "accuracy_class": 3}, 400),
        ("a_manager", {**NEW_PILE, "code": "PILE-A10", "status": "active"}, 400),  # no commissioning date
        ("a_manager", {**NEW_PILE, "code": "PILE-A11", "public": False}, 202),  # a dedicated pile
        ("a_manager", {**NEW_PILE, "code": "PILE-A12", "public": "no"}, 400),  # only a JSON boolean
    ]
    update = [
        ("a_manager", "PILE-A1", {"status": "out_of_service"}, 202),
        ("a_manager", "PILE-A1", {"firmware_version": "1.1"}, 202),
        ("a_manager", "PILE-A1", {"firmware_version": "1.1", "status": "out_of_service"}, 200),
        ("a_viewer", "PILE-A1", {"status": "retired"}, 403),
        ("b_manager", "PILE-A1", {"status": "retired"}, 403),
        ("reg_manager", "PILE-A1", {"status": "retired"}, 403),
        ("grid_manager", "PILE-A1", {"status": "retired"}, 403),
        ("a_manager", "PILE-A1", {"public": False}, 202),
        ("b_manager", "PILE-A1", {"public": True}, 403),
    ]

    def test_register_with_connectors_and_keys_in_one_go(self, world, api_client):
        payload = {
            **NEW_PILE,
            "connectors": [{"connector_id": 1, "standard": "gbt_dc"}, {"connector_id": 2, "standard": "ccs2"}],
            "keys": [
                {"public_key": signing_key(9).public_key.hex, "kind": "ed25519"},
                {"public_key": SigningKey.generate(P256).public_key.to_pem(), "purpose": "meter"},
            ],
        }
        response = api_client("a_manager").post(self.url(), payload, format="json")
        body = assert_accepted(response)
        assert not Pile.objects.filter(code="PILE-A2").exists()
        [block] = commit_all()
        assert assert_applied(body["tx_id"]) == block.height
        pile = Pile.objects.get(code="PILE-A2")
        assert pile.height == block.height
        assert {(c.connector_id, c.height) for c in pile.connectors.all()} == {(1, block.height), (2, block.height)}
        assert sorted(pile.keys.values_list("purpose", "added_height")) == [
            ("device", block.height), ("meter", block.height)]

    @pytest.mark.parametrize(
        "extra, field",
        [
            ({"keys": [{"public_key": signing_key(9).public_key.hex, "kind": "ed25519"},
                       {"public_key": "00" * 31, "kind": "ed25519"}]}, "keys"),
            ({"keys": [{"public_key": "-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----"}]}, "keys"),
            ({"keys": [{"public_key": "zz" * 32, "kind": "ed25519"}]}, "keys"),
            ({"keys": [{"public_key": "04" + "11" * 64, "kind": "p256"}]}, "keys"),  # not on the curve
            ({"keys": [{"public_key": signing_key(1).public_key.hex, "kind": "ed25519"}]}, "keys"),  # taken
            ({"connectors": [{"connector_id": 1, "standard": "gbt_dc"},
                             {"connector_id": 1, "standard": "gbt_dc"}]}, "connectors"),
        ],
    )
    def test_bad_nested_input_saves_nothing(self, world, api_client, extra, field):
        before = counts()
        response = api_client("a_manager").post(self.url(), {**NEW_PILE, **extra}, format="json")
        assert_error_body(response, 400, field)
        assert counts() == before
        assert not Pile.objects.filter(code="PILE-A2").exists()

    def test_filters_shared_with_the_pages(self, world, api_client):
        client = api_client("reg_manager")

        def codes(**params):
            return {row["code"] for row in client.get(self.url(), params).json()["results"]}

        assert codes(operator="OP-B") == {"PILE-B1"}
        assert codes(grid_area="AREA-1") == {"PILE-A1"}
        assert codes(kind="dc") == {"PILE-B1"}
        assert codes(station="ST-A", status="active") == {"PILE-A1"}
        assert codes(q="jing'an") == {"PILE-B1"}  # address of the station
        assert codes(q="pile-a") == {"PILE-A1"}

    def test_pages_of_a_chosen_size(self, world, api_client):
        client = api_client("reg_manager")
        everything = client.get(self.url(), {"page_size": 1000}).json()
        assert everything["count"] == len(everything["results"]) >= 2 and everything["next"] is None
        first = client.get(self.url(), {"page_size": 1}).json()
        assert len(first["results"]) == 1 and first["count"] == everything["count"] and "page_size=1" in first["next"]
        assert client.get(first["next"]).json()["results"][0]["code"] == everything["results"][1]["code"]
        assert len(client.get(self.url(), {"page_size": 5000}).json()["results"]) == everything["count"]  # capped at 1000
        for size in ("0", "ten"):
            response = client.get(self.url(), {"page_size": size})
            assert response.status_code == 400 and "page_size" in response.json()["error"]["fields"]

    def test_code_cannot_change(self, world, api_client):
        before = counts()
        response = api_client("a_manager").put(
            self.url("PILE-A1"),
            {"station": "ST-B", "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7.0", "accuracy_class": 2},
            format="json",
        )
        assert response.status_code == 200
        assert counts() == before  # the identity fields are ignored and nothing else changed
        pile = Pile.objects.get(code="PILE-A1")
        assert pile.station.code == "ST-A"


class TestConnectorAPI(LedgerAPIEndpointCase):
    model = Connector
    answer_names_object = False  # see TestDeviceKeyAPI.test_an_accepted_key_or_connector_names_where_it_will_be
    endpoint = "connectors"
    lookup = "uid"
    visible = everyone(
        {str(Connector.derive_uid("PILE-A1", 1)), str(Connector.derive_uid("PILE-B1", 1)),
         str(Connector.derive_uid("PILE-B1", 2))}
    )
    create = [
        ("a_manager", {"pile": "PILE-A1", "connector_id": 2, "standard": "gbt_ac"}, 202),
        ("a_manager", {"pile": "PILE-A1", "connector_id": 1, "standard": "gbt_ac"}, 400),  # taken
        ("a_manager", {"pile": "PILE-A1", "connector_id": 0, "standard": "gbt_ac"}, 400),
        ("b_manager", {"pile": "PILE-A1", "connector_id": 3, "standard": "gbt_ac"}, 403),
        ("a_manager", {"pile": "NO-SUCH", "connector_id": 3, "standard": "gbt_ac"}, 400),
    ]

    def created_id(self, payload: dict) -> str:
        return str(Connector.derive_uid(payload["pile"], payload["connector_id"]))

    def row(self, public_id: str):
        return Connector.objects.get(uid=public_id)

    def test_public_id_is_derived_from_content(self, world):
        connector = Connector.objects.get(pile__code="PILE-B1", connector_id=2)
        assert connector.uid == Connector.derive_uid("PILE-B1", 2)
        assert connector.evse_id == 2 and connector.evse_connector_id == 1


class TestTestBoxAPI(LedgerAPIEndpointCase):
    model = FieldTestBox
    endpoint = "test-boxes"
    lookup = "serial"
    visible = TEST_BOXES_VISIBLE
    later = (date.today() + timedelta(days=365)).isoformat()
    base = {"model_name": "EVT", "certificate_no": "C-9", "certificate_expires_on": later}
    create = [
        ("metro_manager", {**base, "owner": "METRO", "serial": "TB-3"}, 202),
        ("metro_manager", {**base, "owner": "METRO-2", "serial": "TB-4"}, 403),
        ("a_manager", {**base, "owner": "METRO", "serial": "TB-5"}, 403),
        ("reg_manager", {**base, "owner": "METRO", "serial": "TB-6"}, 403),
        ("admin", {**base, "owner": "OP-A", "serial": "TB-7"}, 400),  # not a metrology institute
        ("metro_manager", {**base, "owner": "METRO", "serial": "tb-1"}, 400),  # duplicate serial
    ]
    update = [
        ("metro_manager", "TB-1", {"certificate_no": "CERT-1b"}, 202),
        ("metro2_manager", "TB-1", {"certificate_no": "X"}, 404),  # cannot even see it
        ("reg_manager", "TB-1", {"certificate_no": "X"}, 403),
        ("a_manager", "TB-1", {"certificate_no": "X"}, 404),
    ]


class TestDeviceKeyAPI:
    url = "/api/device-keys/"

    def devices_seen(self, client) -> set[str]:
        rows = client.get(self.url).json()["results"]
        return {row["pile"] or row["test_box"] for row in rows}

    def test_keys_follow_their_devices_visibility(self, world, api_client):
        for username in ALL_USERNAMES:
            boxes_with_keys = TEST_BOXES_VISIBLE.get(username, set()) & {"TB-1"}
            expected = PRIVATE_PILES.get(username, set()) | boxes_with_keys
            assert self.devices_seen(api_client(username)) == expected, username

    def test_anonymous_is_refused(self, world, api_client):
        assert api_client(None).get(self.url).status_code in (401, 403)

    def test_add_pem_and_hex_keys(self, world, api_client):
        client = api_client("a_manager")
        pem = SigningKey.generate(P256).public_key.to_pem()
        response = client.post(self.url, {"pile": "PILE-A1", "public_key": pem, "purpose": "meter"}, format="json")
        pem_tx = assert_accepted(response)["tx_id"]
        response = client.post(
            self.url, {"pile": "PILE-A1", "public_key": signing_key(7).public_key.hex, "kind": "ed25519"}, format="json"
        )
        hex_tx = assert_accepted(response)["tx_id"]
        assert DeviceKey.objects.filter(pile__code="PILE-A1").count() == 2  # pending: not yet
        [block] = commit_all()
        assert assert_applied(pem_tx) == assert_applied(hex_tx) == block.height
        fingerprint = fingerprint_of(PublicKey.parse(None, pem).raw)
        body = client.get(f"{self.url}{fingerprint}/").json()
        assert body["kind"] == "p256" and len(body["public_key_hex"]) == 130 and body["purpose"] == "meter"
        assert body["fingerprint"] == fingerprint and body["status"] == "active"
        key = DeviceKey.objects.get(fingerprint=fingerprint_of(signing_key(7).public_key.raw))
        assert key.kind == "ed25519" and key.added_height == block.height and key.pile.code == "PILE-A1"

    def test_an_accepted_key_or_connector_names_where_it_will_be(self, world, api_client):
        """A 202 says where the object will be once committed, also when its public id is derived
        (a key's fingerprint, a connector's uid) rather than sent."""
        client = api_client("a_manager")
        public = signing_key(7).public_key
        key = assert_accepted(client.post(
            self.url, {"pile": "PILE-A1", "public_key": public.hex, "kind": "ed25519"}, format="json"))
        connector = assert_accepted(client.post(
            "/api/connectors/", {"pile": "PILE-A1", "connector_id": 2, "standard": "gbt_ac"}, format="json"))
        commit_all()
        uid = Connector.derive_uid("PILE-A1", 2)
        assert key.get("object") == f"{self.url}{fingerprint_of(public.raw)}/", key
        assert connector.get("object") == f"/api/connectors/{uid}/", connector
        assert client.get(key["object"]).status_code == client.get(connector["object"]).status_code == 200

    @pytest.mark.parametrize(
        "payload, field",
        [
            ({"pile": "PILE-A1", "public_key": "abcd", "kind": "ed25519"}, "public_key"),
            ({"pile": "PILE-A1", "public_key": "not hex at all", "kind": "ed25519"}, "public_key"),
            ({"pile": "PILE-A1", "public_key": "11" * 32}, "public_key"),  # hex without a kind
            ({"pile": "PILE-A1", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"},
             "public_key"),
            ({"pile": "PILE-A1", "public_key": "04" + "22" * 64, "kind": "p256"}, "public_key"),
            ({"pile": "PILE-A1", "public_key": "ab" * 32, "kind": "rsa"}, "kind"),
            ({"public_key": "ab" * 32, "kind": "ed25519"}, "pile"),  # no device
            ({"pile": "PILE-A1", "test_box": "TB-1", "public_key": "ab" * 32, "kind": "ed25519"}, "pile"),
            ({"test_box": "TB-1", "purpose": "meter", "public_key": signing_key(8).public_key.hex,
              "kind": "ed25519"}, "purpose"),
        ],
    )
    def test_malformed_keys_are_refused(self, world, api_client, payload, field):
        before = counts()
        client = api_client("admin")
        assert_error_body(client.post(self.url, payload, format="json"), 400, field)
        assert counts() == before

    def test_other_operator_cannot_add_or_revoke(self, world, api_client):
        before = counts()
        response = api_client("b_manager").post(
            self.url, {"pile": "PILE-A1", "public_key": signing_key(7).public_key.hex, "kind": "ed25519"},
            format="json",
        )
        assert_error_body(response, 403)
        assert counts() == before
        key = DeviceKey.objects.filter(pile__code="PILE-A1").first()
        # b_manager cannot see A's keys at all; the regulator sees but may not revoke.
        assert api_client("b_manager").post(f"{self.url}{key.fingerprint}/revoke/").status_code == 404
        assert api_client("reg_manager").post(f"{self.url}{key.fingerprint}/revoke/").status_code == 403
        assert counts() == before

    def test_revoke(self, world, api_client):
        key = DeviceKey.objects.filter(test_box__serial="TB-1").get()
        client = api_client("metro_manager")
        body = assert_accepted(client.post(f"{self.url}{key.fingerprint}/revoke/"))
        assert body["type"] == "registry.device_key_revoke"
        assert body["object"] == f"{self.url}{key.fingerprint}/"
        assert client.get(body["object"]).json()["status"] == "active"  # pending
        [block] = commit_all()
        shown = client.get(body["object"]).json()
        assert shown["status"] == "revoked" and shown["revoked_at"]
        key.refresh_from_db()
        assert key.revoked_height == block.height == assert_applied(body["tx_id"])
        before = counts()
        assert_error_body(client.post(f"{self.url}{key.fingerprint}/revoke/"), 400, "status")
        assert counts() == before


def test_error_body_shape(world, api_client):
    response = api_client("a_manager").post("/api/piles/", {"station": "ST-A"}, format="json")
    error = assert_error_body(response, 400, "code", "kind", "rated_power_kw")
    assert error["code"] and error["detail"]


def test_invisible_references_look_unknown(world, api_client):
    """Another institute's test box answers like a serial that does not exist."""
    client = api_client("metro2_manager")
    key = signing_key(12).public_key.hex
    invisible = client.post("/api/device-keys/", {"test_box": "TB-1", "public_key": key, "kind": "ed25519"})
    unknown = client.post("/api/device-keys/", {"test_box": "TB-404", "public_key": key, "kind": "ed25519"})
    assert_error_body(invisible, 400, "test_box")
    assert_error_body(unknown, 400, "test_box")
