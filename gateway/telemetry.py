"""Status and meter data from OCPP, handed to monitoring. Imported lazily so that the gateway runs
(and its tests pass) whatever state monitoring is in; monitoring's refusals become OCPP errors."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation

from ocpp.exceptions import PropertyConstraintViolationError, TypeConstraintViolationError

logger = logging.getLogger("pilechain.gateway")

ENERGY = "Energy.Active.Import.Register"


def _ingest():
    try:
        from monitoring import ingest
    except ImportError:  # monitoring not installed on this node
        return None
    return ingest


def _refused(exc) -> PropertyConstraintViolationError:
    return PropertyConstraintViolationError(description=str(exc)[:200], details={"cause": str(exc)[:200]})


def status(*, pile_code: str, connector_id: int, status: str, error_code: str, info: str, timestamp: dt.datetime,
           source: str) -> None:
    ingest = _ingest()
    if ingest is None:
        return
    try:
        ingest.record_status(
            pile_code=pile_code, connector_id=connector_id, status=status, error_code=error_code or "",
            info=info or "", timestamp=timestamp, source=source,
        )
    except ValueError as exc:
        raise _refused(exc) from None


def meter_values(*, pile_code: str, connector_id: int, samples: list[dict]) -> None:
    ingest = _ingest()
    if ingest is None or not samples:
        return
    try:
        ingest.record_meter_values(pile_code=pile_code, connector_id=connector_id, samples=samples)
    except ValueError as exc:
        raise _refused(exc) from None


def heartbeat(*, pile_code: str) -> None:
    ingest = _ingest()
    if ingest is not None and hasattr(ingest, "record_heartbeat"):
        try:
            ingest.record_heartbeat(pile_code=pile_code)
        except ValueError as exc:
            logger.warning("heartbeat of %s not recorded: %s", pile_code, exc)


def decimal_of(value) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise TypeConstraintViolationError(
            description=f"sampled value {str(value)[:40]!r} is not a number", details={"value": str(value)[:40]}
        ) from None
    if not number.is_finite():
        raise TypeConstraintViolationError(description="sampled value is not finite", details={})
    return number


def parse_time(value: str | None, default: dt.datetime) -> dt.datetime:
    if not value:
        return default
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TypeConstraintViolationError(description=f"{value[:40]!r} is not a date-time", details={}) from None
    if parsed.tzinfo is None:
        raise PropertyConstraintViolationError(description="a timestamp needs a time zone", details={})
    return parsed
