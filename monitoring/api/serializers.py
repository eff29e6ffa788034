"""API representations of monitoring data."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from monitoring.models import ConnectorState, Fault, Reading, Webhook, WorkOrder, WorkOrderStep
from monitoring.models.workorders import WorkOrderState


class ConnectorStateSerializer(serializers.ModelSerializer):
    pile = serializers.CharField(source="pile.code")

    class Meta:
        model = ConnectorState
        fields = ["pile", "connector_id", "status", "error_code", "status_at", "energy_wh", "energy_at", "power_w",
                  "power_at", "voltage_v", "current_a", "updated_at", "source", "reported"]

    reported = serializers.SerializerMethodField(help_text="Reported by the operator's gateway (live path), not agreed")
    source = serializers.SerializerMethodField(help_text="The node whose gateway reported it")

    def get_reported(self, obj) -> bool:
        return True

    def get_source(self, obj) -> str:
        return obj.source or settings.NODE_CODE


class ReadingSerializer(serializers.ModelSerializer):
    batch = serializers.SerializerMethodField()

    class Meta:
        model = Reading
        fields = ["id", "connector_id", "measurand", "phase", "context", "ts", "value", "unit", "source", "batch"]

    def get_batch(self, obj):
        return str(obj.batch.uid) if obj.batch_id else None


class FaultSerializer(serializers.ModelSerializer):
    pile = serializers.CharField(source="pile.code")
    work_order = serializers.SerializerMethodField()

    class Meta:
        model = Fault
        fields = ["uid", "pile", "connector_id", "kind", "error_code", "severity", "detail", "detected_at", "metering",
                  "reported_by", "height", "tx_id", "work_order"]

    def get_work_order(self, obj):
        order = getattr(obj, "work_order", None)
        return str(order.uid) if order else None


class WorkOrderSerializer(serializers.ModelSerializer):
    pile = serializers.CharField(source="pile.code")
    operator = serializers.CharField(source="operator.code")
    fault = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = WorkOrder
        fields = ["uid", "pile", "operator", "fault", "state", "severity", "title", "assignee", "opened_at", "due_at",
                  "overdue", "opened_height", "height"]

    def get_fault(self, obj):
        return str(obj.fault.uid) if obj.fault_id else None

    def get_overdue(self, obj):
        return obj.is_overdue(self.context["now"])


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkOrderStep
        fields = ["state", "actor", "institution", "note", "at", "height", "tx_id"]


class StepInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=[c for c in WorkOrderState.values if c != "opened"])
    assignee = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    note = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class ThresholdInputSerializer(serializers.Serializer):
    percent = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=1, max_value=200)


class CurtailmentInputSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    limit_kw = serializers.DecimalField(max_digits=10, decimal_places=1, min_value=0)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class OutageInputSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "url", "piles", "areas", "severities", "phases", "active", "created_by", "created_at"]


class WebhookInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    filters = serializers.DictField(required=False, default=dict)
