from django.urls import path

from ledger import views, web

app_name = "ledger"
urlpatterns = [
    path("peer/", views.peer_messages, name="peer"),
    path("genesis", views.genesis, name="genesis"),
    path("tx/<str:tx_id>/", web.tx_status, name="tx_status"),
    path("tx/<str:tx_id>/status.json", web.tx_status_json, name="tx_status_json"),
]
