"""Pages of the settlement app."""

from django.urls import path  # noqa: F401

app_name = "settlement"

urlpatterns: list = []
