"""Websocket routes of every app, gathered in one list for config.asgi."""

from config.consumers import PingConsumer
from django.urls import path

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
]
