"""One error body for the whole API: {"error": {"status", "code", "detail", "fields"}}."""

from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class NotConfigured(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "not_configured"
    default_detail = _("This node is not part of a consortium yet.")


def exception_handler(exc, context):
    exc = _from_services(exc)
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


def _from_services(exc):
    """What services and the ledger raise, as the API reports it. A service's refusal keeps its reason
    (the caller learns why, e.g. which area it does not own); a contract's refusal in the dry run is
    the caller's mistake, so a 400."""
    from ledger.contracts import ContractRejected
    from ledger.runtime.node import NotConfigured as NodeNotConfigured, NotHosted

    if isinstance(exc, DjangoValidationError):
        # Service functions raise Django's ValidationError; the API reports it as a 400.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return exceptions.ValidationError(detail=detail)
    if isinstance(exc, ContractRejected):
        return exceptions.ValidationError(detail={"non_field_errors": [exc.reason]})
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, (PermissionDenied, NotHosted)):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, NodeNotConfigured):
        return NotConfigured(str(exc) or None)
    return exc


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
