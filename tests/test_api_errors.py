"""Every API error has one body: {"error": {"status", "code", "detail", "fields"}}."""

import pytest


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

    from config.api_errors import exception_handler

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

    from config.api_errors import exception_handler
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
