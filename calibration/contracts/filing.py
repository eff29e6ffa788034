"""Everything checked before a verification record may be filed, against committed state.

`check_filing` runs twice with the same code: in the service, against this node's committed state when
the staff submit (so they get a clear error at once and nothing goes to the ledger), and in the
contract, against the state before the transaction on every node (the authority). It reads the
registry and calibration tables only through ordered queries and takes the time as an argument.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Max

from calibration.fieldbox.acceptance import accept_record
from calibration.fieldbox.record import FieldboxError, SignatureError, UnitError, validate_record
from calibration.limits.table import LimitsError
from calibration.models import Conclusion, PileCompliance, VerificationRecord
from calibration.verification import Judgement, ObservationError, clean_observations, judge
from ledger.contracts import InvalidInput, plain_text
from registry.models import DeviceKey, FieldTestBox, Pile
from registry.models.keys import KeyPurpose, KeyStatus
from registry.models.testboxes import TestBoxStatus

PAYLOAD_KEYS = {"record", "kind", "observations", "inspector", "corrects", "correction_reason"}
REQUIRED_KEYS = {"record", "kind", "observations", "inspector"}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MAX_CLOCK_AHEAD = dt.timedelta(minutes=10)  # a box's clock may run this far ahead of the block time


class FilingError(ValueError):
    """Why a record may not be filed; the message is fit to show to the staff.
    `code` tells the API which HTTP answer fits (400 malformed, 404 unknown, 409 replay/duplicate, 403)."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Filing:
    pile: object
    test_box: object
    record: dict
    observations: dict
    kind: str
    inspector: str
    judgement: Judgement
    corrects: object | None
    correction_reason: str


def sealed_at(record: dict) -> dt.datetime:
    """When the box sealed the record (integer arithmetic: no float seconds)."""
    return EPOCH + dt.timedelta(milliseconds=record["timestamp_ms"])


def last_sequence(box_serial: str) -> int | None:
    return VerificationRecord.objects.filter(box_serial=box_serial).aggregate(m=Max("sequence"))["m"]


def check_filing(payload, *, institution: str, now: dt.datetime) -> Filing:
    """The filing if `institution` (a metrology institute's code) may file `payload` at `now`."""
    if not isinstance(payload, dict):
        raise FilingError("the filing must be an object")
    unknown = set(payload) - PAYLOAD_KEYS
    if unknown:
        raise FilingError(f"unexpected field {', '.join(sorted(unknown))} in the filing")
    missing = REQUIRED_KEYS - set(payload)
    if missing:
        raise FilingError(f"missing {', '.join(sorted(missing))} in the filing")
    record = payload["record"]
    try:
        validate_record(record, signed=True)
    except FieldboxError as exc:
        raise FilingError(str(exc), "units" if isinstance(exc, UnitError) else "invalid") from None
    inspector = payload["inspector"]
    if not isinstance(inspector, str) or not 0 < len(inspector) <= 150:
        raise FilingError("inspector must be the name of the person who verified, at most 150 characters")
    _plain(inspector, "inspector")

    box = FieldTestBox.objects.filter(serial=record["box_serial"]).select_related("owner").first()
    if box is None:
        raise FilingError(f"unknown test box {record['box_serial']}", "unknown")
    if box.owner.code != institution:
        raise FilingError(f"test box {box.serial} belongs to {box.owner.code}, not to {institution}", "forbidden")
    if box.status != TestBoxStatus.ACTIVE:
        raise FilingError(f"test box {box.serial} is retired")
    corrects = None
    reason = payload.get("correction_reason", "") or ""
    if payload.get("corrects") is not None:
        corrects = _original(payload["corrects"], reason)
    elif reason:
        raise FilingError("a correction reason without the record it corrects")

    same_measurement = corrects is not None and corrects.measurement == record
    if not same_measurement and VerificationRecord.objects.filter(
            box_serial=box.serial, sequence=record["sequence"]).exists():
        raise FilingError(f"the record of box {box.serial} with sequence {record['sequence']} was already filed",
                          "duplicate")
    keys = list(DeviceKey.objects.filter(test_box=box, purpose=KeyPurpose.DEVICE, status=KeyStatus.ACTIVE)
                .order_by("fingerprint"))
    if not keys:
        raise FilingError(f"test box {box.serial} has no registered device key", "forbidden")
    try:
        _accept(record, box, keys, None if same_measurement else last_sequence(box.serial))
    except FieldboxError as exc:
        code = {"ReplayError": "replay", "SignatureError": "signature", "TestBoxExpired": "expired"}
        raise FilingError(str(exc), code.get(exc.__class__.__name__, "invalid")) from None
    # Only now, with the record authenticated, is anything in it reported back as a fact.
    pile = Pile.objects.filter(code=record["pile_code"]).first()
    if pile is None:
        raise FilingError(f"unknown pile {record['pile_code']}", "unknown")
    if corrects is not None and corrects.pile_id != pile.pk:
        raise FilingError("a correction must be for the same pile as the record it corrects")
    latest = PileCompliance.objects.filter(pile=pile).values_list("last_record_id", flat=True).first()
    if corrects is not None and latest != corrects.pk:
        raise FilingError("only the pile's latest record can be corrected; correct the latest one")
    sealed = sealed_at(record)
    if sealed > now + MAX_CLOCK_AHEAD:
        raise FilingError(f"the record was sealed at {sealed.isoformat()}, after {now.isoformat()}: "
                          "the box's clock is wrong")

    kind = payload["kind"]
    try:
        judgement = judge(record, payload["observations"], pile_kind=pile.kind, accuracy_class=pile.accuracy_class,
                          kind=kind)
    except (ObservationError, LimitsError) as exc:
        raise FilingError(str(exc)) from None
    if judgement.overall not in (Conclusion.PASS, Conclusion.FAIL):
        open_items = [f"{i.item} ({i.reason})" for i in judgement.conclusion.items if i.status == "incomplete"]
        raise FilingError("the verification is incomplete: " + "; ".join(open_items), "incomplete")
    return Filing(pile=pile, test_box=box, record=record,
                  observations=clean_observations(payload["observations"], judgement.limits), kind=kind,
                  inspector=inspector, judgement=judgement, corrects=corrects, correction_reason=reason)


def _accept(record, box, keys, last) -> None:
    first_error = None
    for key in keys:
        try:
            accept_record(record, box_serial=box.serial, public_key=key.public_key(),
                          certificate_expires=box.certificate_expires_on, last_sequence=last)
            return
        except SignatureError as exc:
            first_error = first_error or exc
    raise first_error


def _original(value, reason: str):
    try:
        uid = uuid.UUID(str(value))
    except ValueError:
        raise FilingError("corrects must be the id of a verification record") from None
    original = VerificationRecord.objects.filter(uid=uid).first()
    if original is None:
        raise FilingError(f"no verification record {uid} to correct", "unknown")
    if not isinstance(reason, str) or not 0 < len(reason.strip()) <= 500:
        raise FilingError("say why the record is corrected (at most 500 characters)")
    _plain(reason, "correction_reason")
    return original


def _plain(text: str, field: str) -> None:
    try:
        plain_text(text, field)
    except InvalidInput as exc:
        raise FilingError(exc.reason) from None
