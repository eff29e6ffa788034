"""Monitoring models: node-local telemetry and alert plumbing, ledger-owned faults, work orders
and daily availability reports."""

from monitoring.models.alerts import AlertRecord, Webhook, WebhookDelivery
from monitoring.models.anchoring import AnchorBatch
from monitoring.models.availability import AvailabilityDay
from monitoring.models.faults import Fault, FaultKind, FaultWatch, Severity
from monitoring.models.grid import AreaLoadThreshold, GridOutage
from monitoring.models.live import LiveEvent, LiveLink, LiveRecord
from monitoring.models.telemetry import ConnectorState, IngestBatch, PileState, Reading, StatusEvent
from monitoring.models.workorders import WorkOrder, WorkOrderState, WorkOrderStep

__all__ = [
    "AlertRecord", "AnchorBatch", "AreaLoadThreshold", "AvailabilityDay", "ConnectorState", "Fault", "FaultKind", "FaultWatch", "GridOutage",
    "IngestBatch", "LiveEvent", "LiveLink", "LiveRecord", "PileState", "Reading", "Severity", "StatusEvent", "Webhook", "WebhookDelivery",
    "WorkOrder", "WorkOrderState", "WorkOrderStep",
]
