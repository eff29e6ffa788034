"""Node-local drafts of a verification record: import, check, preview, file. Nothing here reaches the
ledger until `draft_file`, which goes through services.record_file."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from calibration import services
from calibration.contracts.filing import FilingError, check_filing
from calibration.fieldbox.record import FORMAT, UNITS, FieldboxError, validate_record
from calibration.limits.table import LimitsError
from calibration.models import RecordDraft
from calibration.selectors import test_boxes_for
from calibration.verification import ObservationError, judge
from registry.models import Pile

MWH_PER_KWH = Decimal(1_000_000)


@dataclass
class Preview:
    judgement: object | None = None
    problems: list[str] = field(default_factory=list)
    fileable: bool = False


def draft_from_upload(user, record) -> RecordDraft:
    """A draft holding an uploaded box record, once the record itself passes every check (signature,
    replay, box certificate, known pile); only the staff's observations may still be missing."""
    institution = services.require_filer(user)
    payload = services.filing_payload(record=record, kind="first", observations={}, inspector=user.get_username())
    try:
        check_filing(payload, institution=institution.code, now=timezone.now())
    except FilingError as exc:
        if exc.code != "incomplete":
            raise
    if services.pending_filing(record) is not None:
        raise FilingError(_("This box record was already submitted and awaits commit."), "duplicate")
    return RecordDraft.objects.create(owner=user, pile_code=record["pile_code"], box_serial=record["box_serial"],
                                      measurement=record)


def parse_record_text(text: str) -> dict:
    try:
        record = json.loads(text)
    except ValueError:
        raise FilingError(_("The imported file is not JSON: import the file the field agent saved.")) from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise FilingError(_("The imported file is not a test box record (format %(f)s).") % {"f": FORMAT})
    try:
        validate_record(record, signed=True)
    except FieldboxError as exc:
        raise FilingError(str(exc), "units") from None
    return record


def manual_record(*, pile_code: str, box_serial: str, load_points, indication, billing, clock_error_ms: int) -> dict:
    """A record built from readings typed in the form (kWh converted to mWh): for the preview only, as it
    carries no box signature and so can never be filed."""
    now = int(time.time() * 1000)
    return {
        "format": FORMAT, "box_serial": box_serial or "-", "sequence": 0, "pile_code": pile_code or "-",
        "timestamp_ms": now, "units": dict(UNITS),
        "load_points": [{"current_ma": 1, "voltage_mv": 1, "duration_ms": 0,
                         "standard_energy_mwh": int(s * MWH_PER_KWH), "indicated_energy_mwh": int(i * MWH_PER_KWH)}
                        for s, i in load_points],
        "indication": {"standard_energy_mwh": int(indication[0] * MWH_PER_KWH),
                       "displayed_energy_mwh": int(indication[1] * MWH_PER_KWH)},
        "billing": {"energy_mwh": int(billing[0] * MWH_PER_KWH), "tariff_cny_per_kwh": f"{billing[1]:.4f}",
                    "billed_cny": f"{billing[2]:.4f}"},
        "clock": {"pile_ms": now + clock_error_ms, "reference_ms": now},
    }


def preview(user, draft: RecordDraft) -> Preview:
    """Each item's result for what the draft holds, and every problem that would stop the filing."""
    result = Preview()
    data = draft.data or {}
    pile = Pile.objects.filter(code=draft.pile_code).first() if draft.pile_code else None
    if pile is None:
        result.problems.append(_("Choose a pile.") if not draft.pile_code
                               else _("Unknown pile %(code)s.") % {"code": draft.pile_code})
    box = services_boxes(user).filter(serial=draft.box_serial).first() if draft.box_serial else None
    if box is None:
        result.problems.append(_("Choose one of your institute's test boxes.") if not draft.box_serial
                               else _("Test box %(serial)s is not one of your institute's.") % {"serial": draft.box_serial})
    record = draft.measurement or data.get("manual_record")
    if record is None:
        result.problems.append(_("Import the field agent's record, or enter the readings."))
        return result
    if draft.measurement is None:
        result.problems.append(_("Readings typed by hand carry no test box signature: the preview shows the "
                                 "results, but only a record imported from the box can be filed."))
    elif pile is not None and record["pile_code"] != pile.code:
        result.problems.append(_("The record was made on pile %(r)s, not %(p)s.") % {"r": record["pile_code"], "p": pile.code})
    elif box is not None and record["box_serial"] != box.serial:
        result.problems.append(_("The record was made by box %(r)s, not %(b)s.") % {"r": record["box_serial"], "b": box.serial})
    if pile is not None:
        try:
            result.judgement = judge(record, data.get("observations", {}), pile_kind=pile.kind,
                                     accuracy_class=pile.accuracy_class, kind=data.get("kind", "first"))
        except (ObservationError, LimitsError, FieldboxError, KeyError) as exc:
            result.problems.append(str(exc))
    if draft.measurement is not None and not result.problems:
        payload = services.filing_payload(record=record, kind=data.get("kind", "first"),
                                          observations=data.get("observations", {}), inspector=user.get_username(),
                                          corrects=data.get("corrects") or None,
                                          correction_reason=data.get("correction_reason", ""))
        try:
            check_filing(payload, institution=services.require_filer(user).code, now=timezone.now())
        except FilingError as exc:
            result.problems.append(str(exc))
    result.fileable = not result.problems
    return result


def services_boxes(user):
    return test_boxes_for(user)


def draft_file(user, draft: RecordDraft):
    """File the draft; on a problem the draft is kept with the problem and FilingError is raised."""
    data = draft.data or {}
    if draft.measurement is None:
        raise FilingError(_("Only a record imported from the test box can be filed."))
    try:
        submission = services.record_file(user, record=draft.measurement, kind=data.get("kind", "first"),
                                          observations=data.get("observations", {}),
                                          corrects=data.get("corrects") or None,
                                          correction_reason=data.get("correction_reason", ""))
    except FilingError as exc:
        draft.problems = [str(exc)]
        draft.save(update_fields=["problems", "updated_at"])
        raise
    draft.submission_tx = submission.tx_id
    draft.problems = []
    draft.save(update_fields=["submission_tx", "problems", "updated_at"])
    return submission
