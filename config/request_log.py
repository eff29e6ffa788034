import logging
import time

logger = logging.getLogger("pilechain.request")


class RequestLogMiddleware:
    """One structured log line per request: method, path, status, user and duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        user = getattr(request, "user", None)
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "user": user.get_username() if user is not None and user.is_authenticated else None,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response
