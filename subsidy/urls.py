"""Pages of the subsidy app."""

from django.urls import path

from subsidy import views

app_name = "subsidy"

urlpatterns: list = [
    path("", views.claim_list, name="claim_list"),
    path("claims/<uuid:uid>/", views.claim_detail, name="claim_detail"),
    path("policies/", views.policy_list, name="policy_list"),
]
