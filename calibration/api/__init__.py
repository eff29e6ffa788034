"""REST API of the calibration app: plain views (the field agent's upload and what follows it)."""

from django.urls import path

from calibration.api import views


def register_routes(router) -> None:
    """The calibration API has no viewsets on the shared router."""


urlpatterns: list = [
    path("calibration/records/", views.RecordsView.as_view(), name="calibration-records"),
    path("calibration/records/<uuid:uid>/", views.RecordDetailView.as_view(), name="calibration-record"),
    path("calibration/submissions/<str:tx_id>/", views.SubmissionView.as_view(), name="calibration-submission"),
    path("calibration/compliance/<str:code>/", views.ComplianceView.as_view(), name="calibration-compliance"),
]
