"""Pages of the monitoring app."""

from django.urls import path

from monitoring import views
from monitoring.live import views as live_views

app_name = "monitoring"

urlpatterns: list = [
    path("work-orders/", views.workorder_list, name="workorder_list"),
    path("work-orders/<uuid:uid>/", views.workorder_detail, name="workorder_detail"),
    path("alerts/", views.alerts_live, name="alerts_live"),
    path("live/peer/", live_views.peer_batch, name="live_peer"),
    path("availability/", views.availability, name="availability"),
    path("load/", views.area_load, name="area_load"),
]
