"""One error body for the whole API: {"error": {"status", "code", "detail", "fields"}}."""

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # Service functions raise Django's ValidationError; the API reports it as a 400.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"status": response.status_code, "code": _code(exc), "detail": "", "fields": {}}
    data = response.data
    if isinstance(exc, exceptions.ValidationError) and isinstance(data, dict):
        body["detail"] = "Invalid input."
        body["fields"] = {key: _flatten(value) for key, value in data.items()}
    elif isinstance(exc, exceptions.ValidationError):
        body["detail"] = "Invalid input."
        body["fields"] = {"non_field_errors": _flatten(data)}
    elif isinstance(data, dict) and "detail" in data:
        body["detail"] = str(data["detail"])
    else:
        body["detail"] = str(data)
    response.data = {"error": body}
    return response


def _code(exc) -> str:
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            return codes
        return exc.default_code
    return "error"


def _flatten(value):
    if isinstance(value, dict):
        return {k: _flatten(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flatten(item) if isinstance(item, (dict, list, tuple)) else str(item) for item in value]
    return [str(value)]
