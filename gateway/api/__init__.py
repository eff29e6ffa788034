"""REST API of the gateway app: plain views under /api/gateway/."""

from django.urls import path

from gateway.api import views


def register_routes(router) -> None:
    """No viewsets: the gateway's resources are node-local views."""


urlpatterns: list = [
    path("gateway/piles/", views.PileListView.as_view(), name="gateway-pile-list"),
    path("gateway/piles/<str:code>/", views.PileDetailView.as_view(), name="gateway-pile-detail"),
    path("gateway/piles/<str:code>/credential/", views.CredentialView.as_view(), name="gateway-credential"),
    path("gateway/piles/<str:code>/commands/", views.CommandView.as_view(), name="gateway-commands"),
]
