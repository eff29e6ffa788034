"""Everything the platform checks before a box record may enter a verification, in one pure call.

The caller (the upload endpoint's service, and again the ledger contract) looks up the box by the
record's serial and passes what the registry and the ledger hold about it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ledger.chain.crypto import PublicKey

from calibration.fieldbox.certificate import require_testbox_usable
from calibration.fieldbox.record import RecordFormatError, check_sequence, verify_record

# Certificates carry China's calendar date; China keeps UTC+8 all year, so a fixed offset is exact.
CERTIFICATE_TZ = timezone(timedelta(hours=8))
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def measurement_date(record: dict) -> date:
    """The calendar day (UTC+8) on which the box sealed the record."""
    sealed = _EPOCH + timedelta(milliseconds=record["timestamp_ms"])  # integer arithmetic, no float seconds
    return sealed.astimezone(CERTIFICATE_TZ).date()


def accept_record(record, *, box_serial: str, public_key: PublicKey, certificate_expires: date,
                  last_sequence: int | None) -> dict:
    """The record if it may be used; otherwise a FieldboxError subclass saying why.

    Order matters: the signature first, so nothing unauthenticated is ever reported back as a fact.
    """
    verify_record(record, public_key)
    if record["box_serial"] != box_serial:
        raise RecordFormatError(f"the record names box {record['box_serial']}, but was checked against "
                                f"the key of box {box_serial}")
    check_sequence(record["sequence"], last_sequence)
    require_testbox_usable(box_serial, certificate_expires, measurement_date(record))
    return record
