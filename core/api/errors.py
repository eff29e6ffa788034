"""One error body for the whole API: {"error": {"status", "code", "detail", "fields"}}.

Two roads lead here: what a view raises goes through DRF's exception handler (`exception_handler`);
what fails before or around a view (an unmatched URL, a body over the size limit, an uncaught
exception) reaches Django's error handlers, which answer under /api/ with `failure_response`.
"""

from django.core.exceptions import (
    BadRequest as DjangoBadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation,
    TooManyFieldsSent, TooManyFilesSent, ValidationError as DjangoValidationError,
)
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ServiceError
from ledger.contracts import ContractRejected
from ledger.runtime.node import NotConfigured as NodeNotConfigured, NotHosted


class NotConfigured(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "not_configured"
    default_detail = _("This node is not part of a consortium yet.")


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = _("The request is malformed.")


class TooManyFields(BadRequest):
    default_code = "too_many_fields"
    default_detail = _("The request has too many fields.")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = _("The request body is too large.")


class ServerError(exceptions.APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "server_error"
    default_detail = _("The server failed to answer this request. The failure has been logged.")


def exception_handler(exc, context):
    exc = _from_services(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = _body(exc, response.status_code)
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


def failure_response(exc=None) -> JsonResponse:
    """The error body for a failure Django's handlers caught under /api/ (None: an uncaught exception)."""
    failure = as_api_exception(exc)
    body = _body(failure, failure.status_code)
    body["detail"] = str(failure.detail)
    return JsonResponse({"error": body}, status=failure.status_code,
                        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")})  # as DRF renders


def _body(exc, status_code: int) -> dict:
    return {"status": status_code, "code": _code(exc), "detail": "", "fields": {}}


def as_api_exception(exc) -> exceptions.APIException:
    """What Django refuses before a view runs, in the API's terms. Its messages are not repeated:
    a resolver's 404 holds the URL patterns tried, and a refused host or size is the server's business."""
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return TooManyFields()
    if isinstance(exc, (SuspiciousOperation, DjangoBadRequest)):
        return BadRequest()
    if isinstance(exc, (Http404, PermissionDenied)):
        return _from_services(exc)
    if isinstance(exc, exceptions.APIException):
        return exc
    return ServerError()


class ServiceRefusal(exceptions.APIException):
    """A core.errors.ServiceError as the API answers it: its own status and code, its own words."""

    def __init__(self, exc: ServiceError):
        self.status_code = exc.status_code
        super().__init__(detail=exc.reason, code=exc.api_code)


def _from_services(exc):
    """What services and the ledger raise, as the API reports it. A service's refusal keeps its reason
    (the caller learns why, e.g. which area it does not own); a contract's refusal in the dry run is
    the caller's mistake, so a 400."""
    if isinstance(exc, ServiceError) and not isinstance(exc, DjangoValidationError):
        return ServiceRefusal(exc)
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
