"""The registry's REST API."""

from registry.api import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
from registry.api import viewsets


def register_routes(router) -> None:
    """Registers the registry's viewsets on the API router."""
    router.register("institutions", viewsets.InstitutionViewSet, basename="institution")
    router.register("grid-areas", viewsets.GridAreaViewSet, basename="gridarea")
    router.register("stations", viewsets.StationViewSet, basename="station")
    router.register("piles", viewsets.PileViewSet, basename="pile")
    router.register("connectors", viewsets.ConnectorViewSet, basename="connector")
    router.register("test-boxes", viewsets.FieldTestBoxViewSet, basename="testbox")
    router.register("device-keys", viewsets.DeviceKeyViewSet, basename="devicekey")
