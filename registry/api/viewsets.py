"""API viewsets: reads through selectors (restricted), writes through services."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.api_auth import AuthChallengeMixin
from ledger.api import accepted
from registry import filtersets, selectors, services
from registry.models import Connector
from registry.models.keys import fingerprint_of
from registry.services.keys import parse_public_key
from registry.api import serializers
from registry.models.piles import PILE_CODE_VALIDATOR

PILE_CODE_REGEX = PILE_CODE_VALIDATOR.regex.pattern.strip("^$")


class RegistryViewSet(AuthChallengeMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Subclasses name a selector for reads."""

    selector = None

    def get_queryset(self):
        return type(self).selector(user=self.request.user)

    def object_url(self, lookup: str) -> str:
        return reverse(f"{self.basename}-detail", kwargs={self.lookup_field: lookup})


class ServiceCreateMixin:
    """Writes through the model's services, never serializer.save(). A write is a transaction: the
    answer is 202 with the transaction to follow and the object's address once it commits. Listed
    first among the bases so these win over DRF's CreateModelMixin."""

    create_service = None

    def created_lookup(self, data: dict) -> str | None:
        """The public id the new object will have once its transaction commits."""
        return data.get(self.lookup_field)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = type(self).create_service(actor=request.user, **serializer.validated_data)
        lookup = self.created_lookup(serializer.validated_data)
        return accepted(submission, object_url=self.object_url(lookup) if lookup else None)


class ServiceUpdateMixin:
    """PUT and PATCH through the model's update service. Only for models the ledger has an update
    contract for: the router routes PUT to any viewset with an `update`, and the schema advertises it."""

    update_service = None
    update_kwarg = ""

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        submission = type(self).update_service(
            actor=request.user, **{self.update_kwarg: instance}, data=serializer.validated_data
        )
        if submission is None:  # nothing changed
            return Response(self.get_serializer(instance).data)
        return accepted(submission, object_url=self.object_url(getattr(instance, self.lookup_field)))


class WritableRegistryViewSet(ServiceCreateMixin, ServiceUpdateMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                              RegistryViewSet):
    # Registry entries are retired, not deleted: the ledger keeps their history.
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


class InstitutionViewSet(RegistryViewSet):
    selector = staticmethod(selectors.institution_list)
    serializer_class = serializers.InstitutionSerializer
    filterset_class = filtersets.InstitutionFilterSet
    lookup_field = "code"
    ordering_fields = ["code", "name", "role"]


class GridAreaViewSet(WritableRegistryViewSet):
    selector = staticmethod(selectors.grid_area_list)
    create_service = staticmethod(services.grid_area_create)
    update_service = staticmethod(services.grid_area_update)
    update_kwarg = "grid_area"
    serializer_class = serializers.GridAreaSerializer
    filterset_class = filtersets.GridAreaFilterSet
    lookup_field = "code"
    ordering_fields = ["code", "name", "capacity_kw"]


class StationViewSet(WritableRegistryViewSet):
    selector = staticmethod(selectors.station_list)
    create_service = staticmethod(services.station_create)
    update_service = staticmethod(services.station_update)
    update_kwarg = "station"
    serializer_class = serializers.StationSerializer
    filterset_class = filtersets.StationFilterSet
    lookup_field = "code"
    ordering_fields = ["code", "name"]


class PileViewSet(WritableRegistryViewSet):
    selector = staticmethod(selectors.pile_list)
    create_service = staticmethod(services.pile_register)
    update_service = staticmethod(services.pile_update)
    update_kwarg = "pile"
    serializer_class = serializers.PileSerializer
    filterset_class = filtersets.PileFilterSet
    lookup_field = "code"
    lookup_value_regex = PILE_CODE_REGEX
    ordering_fields = ["code", "rated_power_kw", "commissioned_on", "status"]


class ConnectorViewSet(ServiceCreateMixin, mixins.CreateModelMixin, RegistryViewSet):
    # The ledger has no contract that changes a connector: nothing to route PUT or PATCH to.
    selector = staticmethod(selectors.connector_list)
    create_service = staticmethod(services.connector_add)
    serializer_class = serializers.ConnectorSerializer
    filterset_class = filtersets.ConnectorFilterSet
    lookup_field = "uid"
    ordering_fields = ["connector_id"]

    def created_lookup(self, data):
        return str(Connector.derive_uid(data["pile"].code, data["connector_id"]))


class FieldTestBoxViewSet(WritableRegistryViewSet):
    selector = staticmethod(selectors.testbox_list)
    create_service = staticmethod(services.testbox_register)
    update_service = staticmethod(services.testbox_update)
    update_kwarg = "test_box"
    serializer_class = serializers.FieldTestBoxSerializer
    filterset_class = filtersets.FieldTestBoxFilterSet
    lookup_field = "serial"
    lookup_value_regex = r"[A-Za-z0-9._-]+"
    ordering_fields = ["serial", "certificate_expires_on"]


class DeviceKeyViewSet(ServiceCreateMixin, mixins.CreateModelMixin, RegistryViewSet):
    # The ledger has no contract that edits a key (it is added, rotated or revoked): no PUT or PATCH.
    selector = staticmethod(selectors.device_key_list)
    create_service = staticmethod(services.device_key_add)
    serializer_class = serializers.DeviceKeySerializer
    filterset_class = filtersets.DeviceKeyFilterSet
    lookup_field = "fingerprint"
    lookup_value_regex = r"[0-9a-f]{64}"
    ordering_fields = ["fingerprint", "status"]

    def created_lookup(self, data):
        return fingerprint_of(parse_public_key(data["public_key"], data.get("kind") or None).raw)

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def revoke(self, request, fingerprint=None):
        device_key = self.get_object()
        submission = services.device_key_revoke(actor=request.user, device_key=device_key)
        return accepted(submission, object_url=self.object_url(device_key.fingerprint))
