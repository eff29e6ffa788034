"""ASGI entry point: HTTP through Django, websockets through Channels' URL routers (config.routing)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routes import consumers, which import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from core.origins import SameOriginValidator  # noqa: E402
from config.routing import (  # noqa: E402
    device_websocket_urlpatterns, self_checking_websocket_urlpatterns, websocket_urlpatterns,
)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([
            *device_websocket_urlpatterns,
            *self_checking_websocket_urlpatterns,
            re_path(r"", SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
        ]),
    }
)
