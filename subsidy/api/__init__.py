"""REST API of the subsidy app: policies and claims (read), claiming and deciding (write)."""

from django.urls import path

from subsidy.api import views


def register_routes(router) -> None:
    """Plain views only (below)."""


urlpatterns: list = [
    path("subsidy/policies/", views.PolicyListView.as_view(), name="subsidy-policy-list"),
    path("subsidy/claims/", views.ClaimListView.as_view(), name="subsidy-claim-list"),
    path("subsidy/claims/<uuid:uid>/", views.ClaimDetailView.as_view(), name="subsidy-claim-detail"),
    path("subsidy/claims/<uuid:uid>/decision/", views.ClaimDecisionView.as_view(), name="subsidy-claim-decision"),
]
