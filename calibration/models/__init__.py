"""Calibration's tables: ledger-owned verification requests, records and compliance; node-local drafts."""

from calibration.models.compliance import ComplianceChange, ComplianceStatus, PileCompliance
from calibration.models.drafts import RecordDraft
from calibration.models.records import Conclusion, VerificationKind, VerificationRecord
from calibration.models.requests import RequestReason, RequestStatus, VerificationRequest

__all__ = [
    "ComplianceChange", "ComplianceStatus", "Conclusion", "PileCompliance", "RecordDraft", "RequestReason",
    "RequestStatus", "VerificationKind", "VerificationRecord", "VerificationRequest",
]
