"""Pages of the settlement app."""

from django.urls import path

from settlement import views

app_name = "settlement"

urlpatterns: list = [
    path("", views.statement_list, name="statement_list"),
    path("statements/<uuid:uid>/", views.statement_detail, name="statement_detail"),
    path("statements/<uuid:uid>/export.<str:fmt>", views.statement_export_now, name="statement_export"),
    path("publish/", views.publish, name="publish"),
    path("jobs/<uuid:uid>/", views.job_page, name="job"),
    path("jobs/<uuid:uid>/status/", views.job_status, name="job_status"),
    path("jobs/<uuid:uid>/download/", views.job_download, name="job_download"),
]
