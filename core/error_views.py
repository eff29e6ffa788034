"""What a failed request answers: the API's one error body under /api/, a page in the site's layout
elsewhere (handler400/403/404/500 in config.urls, and CSRF_FAILURE_VIEW).

Django always calls the 403 handler and the CSRF view, and the 400, 404 and 500 handlers when DEBUG
is off (with it on, its debug pages answer instead). None of them shows an exception's text that the
project did not write, so no URL pattern, setting or traceback reaches a visitor."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions

from core.api import errors as api_errors
from core.errors import NodeNotReady
from core.context_processors import node

API_PREFIX = "/api/"

logger = logging.getLogger(__name__)


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def bad_request(request, exception):
    if _is_api(request):
        return api_errors.failure_response(exception)
    # One mapping for both answers: a page says what the API would (413 for a body over the limit).
    failure = api_errors.as_api_exception(exception)
    return render(request, "400.html", {"status": failure.status_code, "detail": failure.detail},
                  status=failure.status_code)


def permission_denied(request, exception):
    if _is_api(request):
        return api_errors.failure_response(exception)
    # The project's refusals say why in words written for the user ("GRID-2 does not own grid area
    # AREA-1"); a bare PermissionDenied has no text and the page says it generally.
    reason = exception.args[0] if isinstance(exception, PermissionDenied) and exception.args else ""
    return render(request, "403.html", {"reason": str(reason)}, status=403)


def page_not_found(request, exception):
    if _is_api(request):
        return api_errors.failure_response(exception)
    # Not the exception's text: a resolver's 404 carries every URL pattern it tried.
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return api_errors.failure_response()
    # No request context: it would load the session and the user, and the database may be what failed.
    try:
        page = loader.get_template("500.html").render(node(request))
    except Exception:  # the last answer there is: a failure here must not hide the first one
        logger.exception("the 500 page could not be rendered")
        page = "<h1>Server Error (500)</h1>"
    return HttpResponseServerError(page)


def csrf_failure(request, reason: str = ""):
    if _is_api(request):
        return api_errors.failure_response(exceptions.PermissionDenied(_("CSRF verification failed.")))
    # Django's reason ("CSRF cookie not set.") is for developers; the page tells the user what to do.
    return render(request, "403_csrf.html", status=403)


class MethodNotAllowedPage:
    """Django's require_POST and its kin answer 405 with an empty body: give it the page (or, under
    /api/, the error body) every other failure has. The Allow header stays."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content:
            return response
        if _is_api(request):
            page = api_errors.failure_response(exceptions.MethodNotAllowed(request.method))
        else:
            page = render(request, "405.html", status=405)
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page


class ServiceErrorPages:
    """A service's refusal that no view caught, answered as its status says: `NodeNotReady` as a 503
    page (or, under /api/, the error body). Refused and NotPermitted are Django's ValidationError and
    PermissionDenied: the views show the first on their forms and the 403 handler answers the second."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, NodeNotReady):
            return None
        if _is_api(request):
            return api_errors.failure_response(api_errors.ServiceRefusal(exception))
        return render(request, "503.html", {"reason": exception.reason}, status=503)
