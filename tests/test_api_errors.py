"""Every API error has one body: {"error": {"status", "code", "detail", "fields"}}, whatever fails
and wherever it fails under /api/ (issue #13, section 4)."""

import io
import json
import re
import uuid

import pytest
from django.test import RequestFactory


@pytest.mark.django_db
def test_anonymous_api_request_gets_the_error_body(client):
    response = client.get("/api/")
    assert response.status_code in (401, 403)
    error = response.json()["error"]
    assert error["status"] == response.status_code
    assert error["code"] in ("not_authenticated", "authentication_failed")
    assert error["detail"]


@pytest.mark.django_db
def test_unknown_endpoint_is_a_404_error_body(client, django_user_model):
    user = django_user_model.objects.create_user("api-err", password="pw-123456789")
    client.force_login(user)
    response = client.get("/api/piles/NO-SUCH-PILE-ANYWHERE/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_validation_errors_are_flattened_per_field():
    from django.core.exceptions import ValidationError

    from core.api.errors import exception_handler

    response = exception_handler(ValidationError({"code": ["Duplicate code."], "latitude": ["Out of range."]}), {})
    assert response.status_code == 400
    assert response.data == {
        "error": {
            "status": 400,
            "code": "invalid",
            "detail": "Invalid input.",
            "fields": {"code": ["Duplicate code."], "latitude": ["Out of range."]},
        }
    }


def test_refusals_of_services_and_contracts_keep_their_reason():
    """A service's PermissionDenied says why; a contract's refusal in a dry run is the caller's mistake (400);
    a node that does not sign for an institution refuses (403)."""
    from django.core.exceptions import PermissionDenied

    from core.api.errors import exception_handler
    from ledger.contracts import ContractRejected
    from ledger.runtime.node import NotConfigured, NotHosted

    refused = exception_handler(PermissionDenied("GRID-2 does not own grid area AREA-1"), {})
    assert (refused.status_code, refused.data["error"]["code"]) == (403, "permission_denied")
    assert refused.data["error"]["detail"] == "GRID-2 does not own grid area AREA-1"
    assert exception_handler(PermissionDenied(), {}).data["error"]["detail"]  # DRF's own words
    rejected = exception_handler(ContractRejected("area AREA-1 is already closed for 2030-03"), {})
    assert rejected.status_code == 400
    assert rejected.data["error"]["fields"] == {"non_field_errors": ["area AREA-1 is already closed for 2030-03"]}
    assert exception_handler(NotHosted("node OP-A does not sign for OP-B"), {}).status_code == 403
    unconfigured = exception_handler(NotConfigured("no consortium definition"), {})
    assert (unconfigured.status_code, unconfigured.data["error"]["code"]) == (503, "not_configured")


# --- Whatever fails under /api/ answers the error body ---------------------------------------------------

def assert_api_error(response, status: int, code: str) -> dict:
    """The one error body as JSON, whatever layer refused: never Django's HTML pages."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = json.loads(response.content)["error"]
    assert (error["status"], error["code"]) == (status, code), error
    assert error["detail"] and error["fields"] == {}
    return error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/settlement/jobs/not-a-uuid/",  # a path converter that does not match
        "/api/settlement/statements/not-a-uuid/csv/",
        "/api/ledger/blocks/first/",
        "/api/device-keys/NOT-HEX/",  # the viewset's lookup regex
        "/api/no-such-endpoint/",
        "/api/piles/PILE-A1/no-such-action/",
    ],
)
def test_urls_the_api_does_not_match_are_a_404_error_body(api_client, consortium, url):
    assert_api_error(api_client("a_viewer").get(url), 404, "not_found")
    assert_api_error(api_client(None).post(url, {}, format="json"), 404, "not_found")


@pytest.mark.django_db
def test_the_404_follows_the_request_language(client):
    chinese = assert_api_error(client.get("/api/no-such-endpoint/", HTTP_ACCEPT_LANGUAGE="zh-hans"), 404, "not_found")
    english = assert_api_error(client.get("/api/no-such-endpoint/"), 404, "not_found")
    assert re.search(r"[\u4e00-\u9fff]", chinese["detail"]) and chinese["detail"] != english["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_size_limit_is_a_413(api_client, consortium, settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    big = json.dumps({"area": "A" * 4096}) if content_type == "application/json" else "area=" + "A" * 4096
    response = api_client("grid_manager").post("/api/settlement/closings/", big, content_type=content_type,
                                               HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert assert_api_error(response, 413, "too_large")["detail"] == "请求体过大。"


@pytest.mark.django_db
def test_too_many_fields_is_a_400(api_client, consortium):
    fields = "&".join(f"f{i}=1" for i in range(1001))  # Django's DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000
    response = api_client("grid_manager").post("/api/settlement/closings/", fields,
                                               content_type="application/x-www-form-urlencoded")
    assert_api_error(response, 400, "too_many_fields")


@pytest.mark.django_db
def test_a_suspicious_request_is_a_400(client):
    assert_api_error(client.get("/api/", HTTP_HOST="not-allowed.example"), 400, "bad_request")


def _schema(api_client) -> dict:
    response = api_client("a_manager").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_json_nested_too_deep_is_a_400_at_every_json_endpoint_even_for_a_viewer_token(
        world, api_client, token_client):
    """Deep enough for Python's json parser to raise RecursionError (today a 500, whoever sent it)."""
    deep = "[" * 50_000 + "]" * 50_000
    viewer = token_client("a_manager")  # a viewer token of OP-A
    answered = {}
    for path, operations in _schema(api_client)["paths"].items():
        url = re.sub(r"\{[^}]+\}", "PILE-A1", path)
        for method in {"post", "put", "patch"} & set(operations):
            response = getattr(viewer, method)(url, deep, content_type="application/json")
            assert response.status_code < 500, (method, url, response.content[:200])
            answered[(method, url)] = response
    # Where the view reads the body before anything else refuses, the refusal is the depth's.
    for endpoint in ("/api/settlement/closings/", "/api/ledger/transactions/", "/api/subsidy/claims/"):
        assert "nested deeper than" in assert_api_error(answered[("post", endpoint)], 400, "parse_error")["detail"]


def test_json_as_deep_as_the_ledger_takes_still_parses():
    """A batch of transactions is a list around them: the parser allows one level above the ledger's limit."""
    from rest_framework.exceptions import ParseError

    from core.api.parsers import JSONParser
    from ledger.chain.encoding import MAX_DEPTH, canonical

    payload = {}
    for _ in range(MAX_DEPTH - 1):  # the payload sits at depth 1 of the transaction's body
        payload = {"k": payload}
    batch = [{"type": "x.y", "payload": payload}]
    canonical(batch[0])  # as deep as the ledger encodes
    assert JSONParser().parse(io.BytesIO(json.dumps(batch).encode())) == batch
    with pytest.raises(ParseError):
        JSONParser().parse(io.BytesIO(json.dumps([batch]).encode()))


def test_a_refusal_or_failure_outside_drf_answers_the_error_body_under_api_and_html_elsewhere():
    """Django's own 403 (a view's PermissionDenied, a CSRF failure) and 500 have the API's shape under
    /api/. No database: a server error must answer when the database is what failed."""
    from django.core.exceptions import PermissionDenied

    from core import error_views

    factory = RequestFactory()
    api, page = factory.get("/api/piles/"), factory.get("/registry/piles/")
    assert_api_error(error_views.server_error(api), 500, "server_error")
    assert_api_error(error_views.csrf_failure(api, reason="CSRF cookie not set."), 403, "permission_denied")
    refused = assert_api_error(error_views.permission_denied(api, PermissionDenied("GRID-2 does not own AREA-1")),
                               403, "permission_denied")
    assert refused["detail"] == "GRID-2 does not own AREA-1"
    served = error_views.server_error(page)
    assert served.status_code == 500 and served["Content-Type"].startswith("text/html")


# --- What the schema advertises is served, and only that ------------------------------------------------

def _path_values(world) -> dict:
    from registry.models import Connector, DeviceKey

    return {
        "uid": {"/api/connectors/": str(Connector.objects.get(pile__code="PILE-A1", connector_id=1).uid)},
        "fingerprint": {"": DeviceKey.objects.filter(pile__code="PILE-A1").first().fingerprint},
        "code": {"/api/grid-areas/": "AREA-1", "/api/monitoring/areas/": "AREA-1", "/api/stations/": "ST-A",
                 "/api/institutions/": "OP-A", "": "PILE-A1"},
        "serial": {"": "TB-1"},
        "tx_id": {"": "0" * 64},
        "height": {"": "1"},
        "reading_id": {"": "1"},
        "id": {"": "1"},
    }


def _fill(path: str, values: dict) -> str:
    """A schema path with its parameters filled: real objects of the world where they matter, and a
    random id (a 404) elsewhere."""
    def value(match):
        choices = values.get(match.group(1), {})
        for prefix, chosen in sorted(choices.items(), key=lambda item: -len(item[0])):
            if path.startswith(prefix):
                return chosen
        return str(uuid.uuid4())
    return re.sub(r"\{([^}]+)\}", value, path)


@pytest.mark.django_db
def test_every_method_the_schema_advertises_is_served(world, api_client):
    """Fuzzing found PUT on connectors and device keys answering 500: advertised, with no handler
    behind it. Each advertised method, as the owner's manager with the object's own representation
    sent back, answers something other than 405 or a server error."""
    client = api_client("a_manager")
    values = _path_values(world)
    schema = _schema(api_client)
    walked = 0
    for path, operations in schema["paths"].items():
        url = _fill(path, values)
        for method in set(operations) & {"get", "post", "put", "patch", "delete"}:
            body = {}
            if method in ("put", "patch"):
                current = client.get(url)
                body = current.json() if current.status_code == 200 else {}
            response = getattr(client, method)(url, body, format="json")
            assert response.status_code != 405 and response.status_code < 500, (
                method.upper(), url, response.status_code, response.content[:300])
            walked += 1
    assert walked > 60


@pytest.mark.django_db
def test_every_method_served_on_a_registry_object_is_advertised(world, api_client):
    """The other half: OPTIONS lists what an object's URL answers; the schema lists no less."""
    client = api_client("a_manager")
    values = _path_values(world)
    paths = _schema(api_client)["paths"]
    for path in ("/api/connectors/{uid}/", "/api/device-keys/{fingerprint}/", "/api/piles/{code}/"):
        allowed = {m.strip().lower() for m in client.options(_fill(path, values))["Allow"].split(",")}
        assert allowed - {"head", "options"} == set(paths[path]) - {"parameters"}, path
    assert "put" not in paths["/api/connectors/{uid}/"] and "patch" not in paths["/api/connectors/{uid}/"]
    assert "put" not in paths["/api/device-keys/{fingerprint}/"]
