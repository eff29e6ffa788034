"""Websocket routes of the monitoring app (gathered by config.routing)."""

websocket_urlpatterns: list = []
