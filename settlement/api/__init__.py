"""REST API of the settlement app: charging sessions (read-only; the gateway records them), tariffs and
statements."""

from django.urls import path

from settlement.api import billing, views


def register_routes(router) -> None:
    """No viewsets yet."""


urlpatterns: list = [
    path("settlement/sessions/", views.SessionListView.as_view(), name="settlement-session-list"),
    path("settlement/sessions/<uuid:uid>/", views.SessionDetailView.as_view(), name="settlement-session-detail"),
    path("settlement/tariffs/", billing.TariffListView.as_view(), name="settlement-tariff-list"),
    path("settlement/statements/", billing.StatementListView.as_view(), name="settlement-statement-list"),
    path("settlement/statements/<uuid:uid>/", billing.StatementDetailView.as_view(), name="settlement-statement-detail"),
    path("settlement/statements/<uuid:uid>/csv/", billing.StatementCsvView.as_view(), name="settlement-statement-csv"),
]
