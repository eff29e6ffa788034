"""REST API of the settlement app: charging sessions (read-only; the gateway records them)."""

from django.urls import path

from settlement.api import views


def register_routes(router) -> None:
    """No viewsets yet."""


urlpatterns: list = [
    path("settlement/sessions/", views.SessionListView.as_view(), name="settlement-session-list"),
    path("settlement/sessions/<uuid:uid>/", views.SessionDetailView.as_view(), name="settlement-session-detail"),
]
