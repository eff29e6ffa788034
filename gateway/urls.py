"""Pages of the gateway app."""

from django.urls import path  # noqa: F401

app_name = "gateway"

urlpatterns: list = []
