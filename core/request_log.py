import logging
import time

from django.db import DatabaseError

logger = logging.getLogger("pilechain.request")


class RequestLogMiddleware:
    """One structured log line per request: method, path, status, user and duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "user": _username(request),
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response


def _username(request) -> str | None:
    user = getattr(request, "user", None)
    try:
        return user.get_username() if user is not None and user.is_authenticated else None
    except DatabaseError:
        # The session and the user are in the database: when that is what failed, the request is
        # still logged (and the failure not raised a second time, with a second 500 page).
        return None
