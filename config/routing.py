"""Websocket routes of every app, gathered in one list for config.asgi."""

from django.urls import path

from config.consumers import PingConsumer
from gateway.routing import websocket_urlpatterns as gateway_routes
from monitoring.routing import websocket_urlpatterns as monitoring_routes

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    *gateway_routes,
    *monitoring_routes,
]
