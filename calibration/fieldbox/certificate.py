"""A test box is a verified instrument itself (JJG 1192/1193): it may be used only while its certificate is valid."""

from __future__ import annotations

from datetime import date

from calibration.fieldbox.record import FieldboxError


class TestBoxExpired(FieldboxError):
    __test__ = False  # not a pytest test class despite the name


def testbox_usable(expiry_date: date, on_date: date) -> bool:
    """True if a box whose certificate expires on `expiry_date` may measure on `on_date`.

    The expiry date is the last day of validity, as printed on certificates ("valid until"), so it is
    inclusive. `on_date` is the day of the measurement (the record's timestamp), not the day of upload:
    a record made in time stays valid when it reaches the platform late.
    """
    if not isinstance(expiry_date, date) or not isinstance(on_date, date):
        raise TypeError("testbox_usable takes two dates")
    return on_date <= expiry_date


testbox_usable.__test__ = False  # pytest would collect it from any test module that imports it


def require_testbox_usable(serial: str, expiry_date: date, on_date: date) -> None:
    if not testbox_usable(expiry_date, on_date):
        raise TestBoxExpired(
            f"test box {serial}: its certificate expired on {expiry_date.isoformat()}, so it may not be used "
            f"on {on_date.isoformat()}; have the box re-verified first"
        )


def date_from_yyyymmdd(value: int) -> date:
    """The CERT_EXPIRES register (an integer like 20271231) as a date."""
    try:
        return date(value // 10_000, value // 100 % 100, value % 100)
    except ValueError as exc:
        raise FieldboxError(f"certificate expiry {value} is not a YYYYMMDD date") from exc


def yyyymmdd(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day
