"""Websocket routes of the monitoring app (gathered by config.routing)."""

from django.urls import path

from monitoring.consumers import AlertConsumer
from monitoring.live.consumers import LiveConsumer

websocket_urlpatterns: list = [path("ws/alerts/", AlertConsumer.as_asgi()), path("ws/live/", LiveConsumer.as_asgi())]
