"""Pages of the calibration app."""

from django.urls import path

from calibration import views

app_name = "calibration"

urlpatterns = [
    path("", views.pile_list, name="pile_list"),
    path("new/", views.draft_new, name="draft_new"),
    path("drafts/", views.draft_list, name="draft_list"),
    path("drafts/<int:pk>/", views.draft_edit, name="draft"),
    path("submissions/<str:tx_id>/", views.submission, name="submission"),
    path("records/<uuid:uid>/", views.record_detail, name="record_detail"),
    path("records/<uuid:uid>/certificate/", views.certificate, name="certificate"),
    path("records/<uuid:uid>/certificate.pdf", views.certificate_pdf, name="certificate_pdf"),
    path("proof/<uuid:uid>/", views.proof, name="proof"),
]
