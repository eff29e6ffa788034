"""REST API of the settlement app: charging sessions (read-only; the gateway records them); tariffs,
fees, terms, area meters, closing and statements (reads in billing.py, writes in writes.py); long
work as jobs (jobs.py)."""

from django.urls import path

from settlement.api import billing, jobs, views, writes


def register_routes(router) -> None:
    """No viewsets: plain views (below)."""


urlpatterns: list = [
    path("settlement/sessions/", views.SessionListView.as_view(), name="settlement-session-list"),
    path("settlement/sessions/<uuid:uid>/", views.SessionDetailView.as_view(), name="settlement-session-detail"),
    path("settlement/tariffs/", writes.TariffsView.as_view(), name="settlement-tariff-list"),
    path("settlement/service-fees/", writes.ServiceFeeView.as_view(), name="settlement-service-fees"),
    path("settlement/terms/", writes.TermsView.as_view(), name="settlement-terms"),
    path("settlement/area-meters/", writes.AreaMeterView.as_view(), name="settlement-area-meters"),
    path("settlement/closings/", writes.ClosingView.as_view(), name="settlement-closings"),
    path("settlement/statements/", billing.StatementListView.as_view(), name="settlement-statement-list"),
    path("settlement/statements/<uuid:uid>/", billing.StatementDetailView.as_view(), name="settlement-statement-detail"),
    path("settlement/statements/<uuid:uid>/csv/", billing.StatementCsvView.as_view(), name="settlement-statement-csv"),
    path("settlement/statements/<uuid:uid>/confirm/", writes.ConfirmView.as_view(),
         name="settlement-statement-confirm"),
    path("settlement/statements/<uuid:uid>/dispute/", writes.DisputeView.as_view(),
         name="settlement-statement-dispute"),
    path("settlement/statements/<uuid:uid>/correct/", writes.CorrectView.as_view(),
         name="settlement-statement-correct"),
    path("settlement/statements/<uuid:uid>/exports/", jobs.ExportStartView.as_view(),
         name="settlement-statement-exports"),
    path("settlement/jobs/close-areas/", jobs.CloseAreasStartView.as_view(), name="settlement-close-areas"),
    path("settlement/jobs/<uuid:uid>/", jobs.JobDetailView.as_view(), name="settlement-job-detail"),
    path("settlement/jobs/<uuid:uid>/download/", jobs.JobDownloadView.as_view(), name="settlement-job-download"),
]
