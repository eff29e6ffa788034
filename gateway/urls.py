"""Pages of the gateway app."""

from django.urls import path

from gateway import views

app_name = "gateway"

urlpatterns = [
    path("", views.pile_list, name="pile_list"),
    path("piles/<str:code>/", views.pile_detail, name="pile_detail"),
    path("piles/<str:code>/credential/", views.credential_set, name="credential_set"),
    path("piles/<str:code>/commands/", views.command_send, name="command_send"),
]
