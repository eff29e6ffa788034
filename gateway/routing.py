"""Websocket routes of the gateway app (gathered by config.routing)."""

websocket_urlpatterns: list = []
