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
