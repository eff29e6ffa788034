"""REST API of the monitoring app: plain views under /api/monitoring/."""

from django.urls import path

from monitoring.api import views


def register_routes(router) -> None:
    """Register this app's viewsets on the API's router (it has plain views only)."""


urlpatterns: list = [
    path("monitoring/state/", views.LatestStateView.as_view(), name="monitoring-state"),
    path("monitoring/live/status/", views.LiveStatusView.as_view(), name="monitoring-live-status"),
    path("monitoring/readings/", views.ReadingListView.as_view(), name="monitoring-readings"),
    path("monitoring/readings/aggregate/", views.AggregateView.as_view(), name="monitoring-aggregate"),
    path("monitoring/readings/<int:reading_id>/proof/", views.ReadingProofView.as_view(), name="monitoring-proof"),
    path("monitoring/ingest/", views.IngestView.as_view(), name="monitoring-ingest"),
    path("monitoring/faults/", views.FaultListView.as_view(), name="monitoring-faults"),
    path("monitoring/work-orders/", views.WorkOrderListView.as_view(), name="monitoring-workorders"),
    path("monitoring/work-orders/<uuid:uid>/", views.WorkOrderDetailView.as_view(), name="monitoring-workorder"),
    path("monitoring/availability/", views.AvailabilityView.as_view(), name="monitoring-availability"),
    path("monitoring/uptime/", views.UptimeView.as_view(), name="monitoring-uptime"),
    path("monitoring/areas/load/", views.AreaLoadView.as_view(), name="monitoring-area-load"),
    path("monitoring/areas/<str:code>/load-curve/", views.AreaLoadCurveView.as_view(), name="monitoring-area-load-curve"),
    path("monitoring/areas/<str:code>/threshold/", views.AreaThresholdView.as_view(), name="monitoring-area-threshold"),
    path("monitoring/areas/<str:code>/curtailments/", views.AreaCurtailmentView.as_view(),
         name="monitoring-area-curtailments"),
    path("monitoring/areas/<str:code>/outages/", views.AreaOutageView.as_view(), name="monitoring-area-outages"),
    path("monitoring/webhooks/", views.WebhookListView.as_view(), name="monitoring-webhooks"),
    path("monitoring/webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="monitoring-webhook"),
]
