"""Websocket routes of every app, gathered for config.asgi in two groups.

Pages' sockets are opened by browsers with this site's session: they sit behind the Origin check.
Charge points are no browsers (no Origin header, HTTP Basic per pile), and the alerts socket takes
API tokens from programs as well as sessions from this site's pages (it checks the Origin itself
when a session is used), so those two are routed before the check.
"""

from channels.auth import AuthMiddlewareStack
from django.urls import path

from gateway.routing import websocket_urlpatterns as gateway_routes
from monitoring.routing import websocket_urlpatterns as monitoring_routes
from registry.sockets import PingConsumer

# Behind the Origin check (core.origins: the socket's own scheme, host and port) and the session.
websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
]

# Before the Origin check: each consumer authenticates (and, for sessions, checks the Origin) itself.
device_websocket_urlpatterns = [*gateway_routes]
self_checking_websocket_urlpatterns = [
    path(str(route.pattern), AuthMiddlewareStack(route.callback)) for route in monitoring_routes
]
