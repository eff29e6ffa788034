"""Websocket routes of the gateway app (gathered by config.routing): the OCPP-J central system."""

from django.urls import re_path

from gateway.consumers import OcppConsumer

websocket_urlpatterns: list = [
    re_path(r"^ocpp/(?P<charge_point_id>[A-Za-z0-9._~-]{1,48})/?$", OcppConsumer.as_asgi()),
]
