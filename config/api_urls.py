"""The REST API root: every app's viewsets registered on one router."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from ledger import api as ledger_api
from registry.api import register_routes as register_registry

router = DefaultRouter()
register_registry(router)

urlpatterns = [
    *ledger_api.urlpatterns,
    path("", include(router.urls)),
]
