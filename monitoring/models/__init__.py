"""Monitoring models: node-local telemetry and alert plumbing, ledger-owned faults, work orders
daily availability reports and the agreed intervals."""

from monitoring.models.alerts import AlertRecord, Webhook, WebhookDelivery
from monitoring.models.anchoring import AnchorBatch
from monitoring.models.availability import AvailabilityDay
from monitoring.models.faults import Fault, FaultKind, FaultWatch, Severity
from monitoring.models.grid import AreaLoadThreshold, Curtailment, GridOutage
from monitoring.models.intervals import (
    AreaLoad, ConnectorDay, IntervalDispute, MaintenanceWindow, MeterReplacement, OpenReport, ReportState,
)
from monitoring.models.live import LiveEvent, LiveLink, LiveRecord
from monitoring.models.telemetry import (
    AuthorizationAttempt, ConnectionEvent, ConnectorState, IngestBatch, PileState, Reading, SignedReading, StatusEvent,
)
from monitoring.models.workorders import WorkOrder, WorkOrderState, WorkOrderStep

__all__ = [
    "AlertRecord", "AnchorBatch", "AuthorizationAttempt", "ConnectionEvent", "AreaLoad", "AreaLoadThreshold", "AvailabilityDay", "ConnectorDay",
    "ConnectorState", "Curtailment", "Fault", "FaultKind", "FaultWatch", "GridOutage", "IngestBatch", "IntervalDispute",
    "MaintenanceWindow", "MeterReplacement", "OpenReport", "ReportState", "LiveEvent", "LiveLink", "LiveRecord", "PileState", "Reading", "Severity", "SignedReading", "StatusEvent", "Webhook", "WebhookDelivery",
    "WorkOrder", "WorkOrderState", "WorkOrderStep",
]
