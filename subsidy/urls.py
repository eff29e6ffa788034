"""Pages of the subsidy app."""

from django.urls import path  # noqa: F401

app_name = "subsidy"

urlpatterns: list = []
