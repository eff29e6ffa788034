from django.urls import path

from ledger import views

app_name = "ledger"
urlpatterns = [
    path("peer/", views.peer_messages, name="peer"),
    path("genesis", views.genesis, name="genesis"),
]
