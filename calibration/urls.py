"""Pages of the calibration app."""

from django.urls import path  # noqa: F401

app_name = "calibration"

urlpatterns: list = []
