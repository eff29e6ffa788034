"""The calibration API: the field agent's record upload, submissions, records and compliance."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from calibration import drafts, selectors, services
from calibration.contracts.records import FILE
from calibration.contracts.filing import FilingError
from calibration.models import VerificationRecord
from core.api.pagination import paginated
from ledger.api_auth import AuthChallengeMixin
from ledger.models import Submission
from registry.access import member_institution

HTTP_FOR = {"forbidden": 403, "duplicate": 409, "replay": 409}
MAX_BODY = 256 * 1024


def record_json(record, request=None) -> dict:
    return {
        "id": str(record.uid), "pile": record.pile.code, "test_box": record.box_serial, "sequence": record.sequence,
        "institution": record.institution, "inspector": record.inspector, "kind": record.kind,
        "conclusion": record.conclusion, "items": record.items, "regulation": record.regulation,
        "data_revision": record.data_revision, "measured_at": record.measured_at.isoformat(),
        "next_due_on": record.next_due_on.isoformat(), "height": record.height, "tx_id": record.tx_id,
        "corrects": str(record.corrects.uid) if record.corrects_id else None,
        "url": reverse("calibration:record_detail", args=[record.uid]),
        "certificate_url": reverse("calibration:certificate", args=[record.uid]),
        "proof_url": reverse("calibration:proof", args=[record.uid]),
    }


def submission_json(submission: Submission, user) -> dict:
    body = {"tx_id": submission.tx_id, "type": submission.type, "status": submission.status,
            "height": submission.height, "reason": submission.reason,
            "url": reverse("calibration-submission", args=[submission.tx_id])}
    record = VerificationRecord.objects.filter(tx_id=submission.tx_id).select_related("pile", "corrects").first()
    if record is not None and selectors.record_get(user, record.uid) is not None:
        body["record"] = record_json(record)
    return body


class CalibrationAPIView(AuthChallengeMixin, APIView):
    pass


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "the record is too large"
    default_code = "too_large"


class FilingRefused(APIException):
    """A refused filing in the API's one error body, with the refusal's own code."""

    def __init__(self, exc: FilingError):
        self.status_code = HTTP_FOR.get(exc.code, 400)
        super().__init__(detail=str(exc), code=exc.code)


def _filing_error(exc: FilingError):
    raise FilingRefused(exc) from exc


class RecordsView(CalibrationAPIView):
    """GET: the verification records the user may see, a page at a time. POST: a field agent's upload."""

    @extend_schema(summary="Verification records the user may see (?pile=CODE)", operation_id="calibration_records_list",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        qs = selectors.records_for(request.user)
        pile = request.query_params.get("pile")
        if pile:
            qs = qs.filter(pile__code__iexact=pile)
        return paginated(self, qs.order_by("-height", "uid"), render=lambda rows: [record_json(r) for r in rows])

    @extend_schema(summary="Upload a test box record: {record, kind, observations} to file it, a bare record "
                           "to keep it as a draft for the web form", request=OpenApiTypes.OBJECT,
                   responses={201: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT})
    def post(self, request):
        if len(request.body or b"") > MAX_BODY:
            raise RequestTooLarge()
        if not services.may_file(request.user):
            raise PermissionDenied("Only the calibration staff of a metrology institute may upload records.")
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError({"detail": "send a record object, or {record, kind, observations}"})
        if "record" not in data:
            # A bare record from the field agent: kept as a draft for the web form, where the staff add
            # the visual checks and the insulation reading before filing.
            try:
                draft = drafts.draft_from_upload(request.user, data)
            except FilingError as exc:
                return _filing_error(exc)
            url = request.build_absolute_uri(reverse("calibration:draft", args=[draft.pk]))
            return Response({"status": "draft", "draft": draft.pk, "url": url,
                             "detail": "record checked and kept as a draft: complete the visual checks and the "
                                       "insulation reading in the web form, then file it"},
                            status=status.HTTP_201_CREATED)
        try:
            submission = services.record_file(
                request.user, record=data.get("record"), kind=data.get("kind", "first"),
                observations=data.get("observations", {}), corrects=data.get("corrects"),
                correction_reason=data.get("correction_reason", ""),
            )
        except FilingError as exc:
            return _filing_error(exc)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response(submission_json(submission, request.user), status=status.HTTP_202_ACCEPTED)


class SubmissionView(CalibrationAPIView):
    """A calibration filing's state: pending, then applied (with the record) or rejected, with the height."""

    @extend_schema(summary="A calibration filing: pending, then applied (with the record and height) or rejected",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, tx_id: str):
        submission = Submission.objects.filter(tx_id=tx_id.lower(), type=FILE).first()
        if submission is None or (submission.submitted_by_id != request.user.pk
                                  and not _same_institution(submission, request.user)):
            raise NotFound("no such calibration submission on this node")
        return Response(submission_json(submission, request.user))


def _same_institution(submission, user) -> bool:
    institution = member_institution(user)
    return bool(institution and submission.body.get("signer") == f"node:{institution.code}")


class RecordDetailView(CalibrationAPIView):
    @extend_schema(summary="One verification record", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, uid):
        record = selectors.record_get(request.user, uid)
        if record is None:
            raise NotFound("no such verification record")
        return Response(record_json(record))


class ComplianceView(CalibrationAPIView):
    """?height=H or ?at=ISO-8601: was the pile compliant then (no parameter: now)."""

    @extend_schema(summary="Was the pile compliant at ?height=H or ?at=ISO-8601 (default now)",
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request, code: str):
        pile = selectors.visible_piles(request.user).filter(code=code).first()
        if pile is None:
            raise NotFound("no such pile")
        height = request.query_params.get("height")
        at = request.query_params.get("at")
        try:
            height = int(height) if height not in (None, "") else None
        except ValueError:
            raise ValidationError({"height": "a block height"}) from None
        when = parse_datetime(at) if at else None
        if at and (when is None or when.tzinfo is None):
            raise ValidationError({"at": "an ISO 8601 time with its offset"})
        answer = selectors.compliance_at(pile, height=height, at=when)
        return Response({"pile": answer.pile_code, "status": answer.status, "compliant": answer.compliant,
                         "since_height": answer.since_height,
                         "due_on": answer.due_on.isoformat() if isinstance(answer.due_on, dt.date) else None,
                         "record": answer.record_uid})
