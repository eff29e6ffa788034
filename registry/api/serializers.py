"""API representations. Private fields are left out for users who may not see them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import html

from registry import access, pile_states
from registry.selectors import station_private
from registry.models import (
    Connector, DeviceKey, FieldTestBox, GridArea, Institution, KeyKind, KeyPurpose, Pile, Station,
)


class VisibleSlugRelatedField(serializers.SlugRelatedField):
    """A reference by public id that resolves only among objects the requesting user may see, so an
    unknown and an invisible id get the same answer and nothing leaks about the latter."""

    def get_queryset(self):
        request = self.context.get("request")
        return super().get_queryset().restrict(getattr(request, "user", None))


class RegistrySerializer(serializers.ModelSerializer):
    """Fields in IMMUTABLE are part of an object's identity: writable on create, read-only after."""

    IMMUTABLE: tuple[str, ...] = ()
    CREATE_ONLY: tuple[str, ...] = ()  # write-only inputs that only creation understands

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, (list, tuple)) and hasattr(self.instance, "pk"):
            for name in self.IMMUTABLE:
                if name in fields:
                    fields[name].read_only = True
            for name in self.CREATE_ONLY:
                fields.pop(name, None)
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        private = getattr(type(instance), "PRIVATE_FIELDS", ())
        if private:
            request = self.context.get("request")
            if not access.private_fields_visible(getattr(request, "user", None), instance):
                for name in private:
                    data.pop(name, None)
        return data


class StrictBooleanField(serializers.BooleanField):
    """true or false. DRF's own field also takes "yes", "on", 1 and "0"; the ledger's contracts take
    only a JSON boolean, so the API refuses the rest at once. Form-encoded requests (the browsable
    API) send the words "true" and "false", which are read as such; a field they leave out is left
    out, not false as DRF's checkbox rule has it (a registration without it is a public pile)."""

    default_error_messages = {"invalid": _("Must be true or false."), "null": _("Must be true or false.")}
    default_empty_html = empty

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        if html.is_html_input(dictionary) and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["code", "name", "role"]


def _institution_field(**kwargs):
    return VisibleSlugRelatedField(slug_field="code", queryset=Institution.objects.all(), **kwargs)


class GridAreaSerializer(RegistrySerializer):
    IMMUTABLE = ("code", "owner")
    owner = _institution_field(help_text="Code of the owning power-supply company.")

    class Meta:
        model = GridArea
        fields = ["code", "name", "owner", "feeder_name", "transformer_name", "capacity_kw", "height"]


class StationPrivateField(serializers.CharField):
    """One of a station's sealed private fields, as this node opens them (registry.selectors)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, allow_null=True, **kwargs)

    def get_attribute(self, instance):
        request = self.context.get("request")
        if not access.private_fields_visible(getattr(request, "user", None), instance):
            return None  # left out by RegistrySerializer; never opened for whom may not see it
        opened = getattr(instance, "_private_opened", UNOPENED)
        if opened is UNOPENED:
            opened = instance._private_opened = station_private(instance)
        return None if opened is None else opened[self.field_name]

    def to_internal_value(self, data):
        return "" if data is None else super().to_internal_value(data)


UNOPENED = object()


class StationSerializer(RegistrySerializer):
    IMMUTABLE = ("code", "operator")
    operator = _institution_field(help_text="Code of the operating institution.")
    grid_area = VisibleSlugRelatedField(slug_field="code", queryset=GridArea.objects.all())

    # Private, and sealed on the ledger (Station.private_sealed): written in clear to this node's
    # service, which seals them; read back opened where this node is one of their readers, null where
    # it is not, and left out for people who may not see a station's private fields.
    contact_name = StationPrivateField(max_length=Station.PRIVATE_MAX_LENGTH["contact_name"])
    contact_phone = StationPrivateField(max_length=Station.PRIVATE_MAX_LENGTH["contact_phone"])
    notes = StationPrivateField(max_length=Station.PRIVATE_MAX_LENGTH["notes"], trim_whitespace=False)

    class Meta:
        model = Station
        fields = [
            "code", "name", "operator", "address", "latitude", "longitude", "grid_area",
            "contact_name", "contact_phone", "notes", "height",
        ]


class ConnectorInputSerializer(serializers.ModelSerializer):
    evse_id = serializers.IntegerField(min_value=1, required=False, help_text="Defaults to the connector id.")

    class Meta:
        model = Connector
        fields = ["connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw"]
        # Uniqueness per pile is checked by the service once the pile exists.
        validators: list = []


class ConnectorSerializer(RegistrySerializer):
    pile = VisibleSlugRelatedField(slug_field="code", queryset=Pile.objects.all())
    evse_id = serializers.IntegerField(min_value=1, required=False, help_text="Defaults to the connector id.")

    class Meta:
        model = Connector
        fields = ["uid", "pile", "connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw", "height"]
        read_only_fields = ["uid"]
        validators: list = []


class KeyInputSerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="PEM, or hex of the raw public key (then give kind).")
    kind = serializers.ChoiceField(
        choices=KeyKind.choices, required=False, allow_blank=True,
        help_text="Needed for hex input; read from the PEM otherwise.",
    )
    purpose = serializers.ChoiceField(choices=KeyPurpose.choices, default=KeyPurpose.DEVICE)
    label = serializers.CharField(required=False, allow_blank=True, max_length=100)


class OperationalPartSerializer(serializers.Serializer):
    """One part of a pile's operational state (read-only)."""

    part = serializers.ChoiceField(
        choices=["registry", "connection", "connector", "faults", "work_orders", "calibration"],
        help_text="registry: the administrative status; connection: online, offline, silent (connected but not "
                  "heard within the silence window), never or hidden; connector: one connector's latest OCPP "
                  "status; faults, work_orders: how many are open; calibration: compliant, non_compliant, "
                  "overdue or unverified.",
    )
    connector_id = serializers.IntegerField(allow_null=True, help_text="For a connector part (0: the whole pile).")
    value = serializers.CharField(help_text="Machine-readable value; empty when the part is hidden from you.")
    label = serializers.CharField(help_text="The value in the request's language.")
    count = serializers.IntegerField(allow_null=True, help_text="faults and work_orders: how many are open.")
    detail = serializers.CharField(help_text="An error code, the most severe fault's severity, overdue work orders, "
                                             "a due date.")
    source = serializers.ChoiceField(choices=["registry", "live", "ledger"])
    reported_by = serializers.CharField(help_text="live: the member node that reported it; empty: this node's own "
                                                  "gateway.")
    source_label = serializers.CharField(help_text="e.g. 'live: reported by OPERATOR-A'.")
    at = serializers.DateTimeField(allow_null=True, help_text="When the part was last true or changed.")
    height = serializers.IntegerField(allow_null=True, help_text="registry: the block that last changed the pile.")
    visible = serializers.BooleanField(help_text="False: you may not see this part (another operator's faults, "
                                                 "a dedicated pile's live state); it did not count.")


class OperationalWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["live_while_planned", "live_while_retired", "in_use_while_out_of_service"])
    text = serializers.CharField()


class OperationalStateSerializer(serializers.Serializer):
    """A pile's operational state: the first that applies of retired, faulted, out_of_service,
    not_commissioned, not_compliant, offline, available, charging, unavailable; else unknown (docs/monitoring.md)."""

    state = serializers.ChoiceField(choices=[
        "retired", "faulted", "out_of_service", "not_commissioned", "not_compliant", "offline", "available",
        "charging", "unavailable", "unknown",
    ])
    label = serializers.CharField(help_text="The state in the request's language.")
    decided_by = serializers.CharField(help_text="The fact that decided it; empty for unknown.")
    reason = serializers.CharField()
    warnings = OperationalWarningSerializer(many=True, help_text="Parts that contradict each other.")
    parts = OperationalPartSerializer(many=True)


class PileListSerializer(serializers.ListSerializer):
    """Reads the operational state of a whole page of piles at once (a fixed number of queries)."""

    def to_representation(self, data):
        piles = list(data.all() if hasattr(data, "all") else data)
        request = self.context.get("request")
        self.context["operational_states"] = pile_states.states(user=getattr(request, "user", None), piles=piles)
        return super().to_representation(piles)


class PileSerializer(RegistrySerializer):
    IMMUTABLE = ("code", "station")
    CREATE_ONLY = ("connectors", "keys")
    station = VisibleSlugRelatedField(slug_field="code", queryset=Station.objects.all())
    operator = serializers.CharField(source="station.operator.code", read_only=True)
    connectors = ConnectorInputSerializer(many=True, required=False, write_only=True)
    keys = KeyInputSerializer(many=True, required=False, write_only=True)
    public = StrictBooleanField(
        required=False,
        help_text="Open to any driver (true, the default) or dedicated, e.g. a fleet depot's or a residential "
                  "pile (false). Only a JSON boolean.",
    )
    operational_state = serializers.SerializerMethodField(
        help_text="Read-only: the registry status, the live state, open faults and work orders and the calibration "
                  "standing combined by one rule, each part with its source and time, as you may see them "
                  "(`status` is the registry's administrative status alone).",
    )

    class Meta:
        model = Pile
        list_serializer_class = PileListSerializer
        fields = [
            "code", "station", "operator", "kind", "rated_power_kw", "accuracy_class", "commissioned_on", "status",
            "operational_state", "public", "vendor", "model_name", "serial_number", "firmware_version", "connectors",
            "keys", "height",
        ]
        extra_kwargs = {name: {"required": False} for name in Pile.PRIVATE_FIELDS}

    @extend_schema_field(OperationalStateSerializer(allow_null=True))
    def get_operational_state(self, pile):
        known = self.context.get("operational_states")
        if known is None or pile.pk not in known:
            request = self.context.get("request")
            known = pile_states.states(user=getattr(request, "user", None), piles=[pile])
        state = known.get(pile.pk)
        return OperationalStateSerializer(state.as_dict()).data if state is not None else None


class FieldTestBoxSerializer(RegistrySerializer):
    IMMUTABLE = ("serial", "owner")
    CREATE_ONLY = ("keys",)
    owner = _institution_field(help_text="Code of the owning metrology institute.")
    keys = KeyInputSerializer(many=True, required=False, write_only=True)

    class Meta:
        model = FieldTestBox
        fields = [
            "serial", "owner", "model_name", "manufacturer", "certificate_no", "certificate_expires_on", "status",
            "keys", "height",
        ]


class DeviceKeySerializer(RegistrySerializer):
    pile = VisibleSlugRelatedField(
        slug_field="code", queryset=Pile.objects.all(), required=False, allow_null=True
    )
    test_box = VisibleSlugRelatedField(
        slug_field="serial", queryset=FieldTestBox.objects.all(), required=False, allow_null=True
    )
    public_key = serializers.CharField(write_only=True, help_text="PEM, or hex of the raw public key (then give kind).")
    kind = serializers.ChoiceField(
        choices=KeyKind.choices, required=False, allow_blank=True,
        help_text="Needed for hex input; read from the PEM otherwise.",
    )
    public_key_pem = serializers.SerializerMethodField()

    class Meta:
        model = DeviceKey
        fields = [
            "fingerprint", "pile", "test_box", "purpose", "kind", "public_key", "public_key_hex", "public_key_pem",
            "label", "status", "revoked_at", "added_height", "revoked_height", "revoked_reason",
        ]
        read_only_fields = ["fingerprint", "public_key_hex", "status", "revoked_at", "revoked_reason"]

    @extend_schema_field(serializers.CharField())
    def get_public_key_pem(self, obj) -> str:
        return obj.public_key().to_pem()
