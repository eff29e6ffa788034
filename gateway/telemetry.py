"""Status and meter data from OCPP, handed to monitoring (its ingest entry point); monitoring's
refusals become OCPP errors."""

from __future__ import annotations

import datetime as dt
import logging

from ocpp.exceptions import PropertyConstraintViolationError

from monitoring import ingest

logger = logging.getLogger("pilechain.gateway")


def _refused(exc) -> PropertyConstraintViolationError:
    return PropertyConstraintViolationError(description=str(exc)[:200], details={"cause": str(exc)[:200]})


def statuses(messages: list[dict]) -> list:
    """Status changes to monitoring in one transaction; per message its StatusEvent or the OCPP error
    refusing it."""
    return [_refused(r) if isinstance(r, ValueError) else r for r in ingest.record_statuses_many(messages)]


def meter_values(messages: list[dict]) -> list:
    """MeterValues to monitoring in one transaction; per message the readings stored or the OCPP error
    refusing it."""
    return [_refused(r) if isinstance(r, ValueError) else r for r in ingest.record_meter_values_many(messages)]


def connection(*, pile_code: str, up: bool, at: dt.datetime) -> None:
    try:
        ingest.record_connection(pile_code=pile_code, up=up, at=at)
    except ValueError as exc:
        logger.warning("connection of %s not recorded: %s", pile_code, exc)


def signed_readings(*, pile_code: str, connector_id: int, records: list[str]) -> None:
    try:
        ingest.record_signed_readings(pile_code=pile_code, connector_id=connector_id, records=records)
    except ValueError as exc:
        logger.warning("signed readings of %s not recorded: %s", pile_code, exc)


def authorization(*, pile_code: str, accepted: bool, at: dt.datetime) -> None:
    try:
        ingest.record_authorization(pile_code=pile_code, accepted=accepted, at=at)
    except ValueError as exc:
        logger.warning("authorization attempt of %s not recorded: %s", pile_code, exc)


def heartbeats(*, pile_codes: list[str]) -> None:
    try:
        ingest.record_heartbeats(pile_codes=pile_codes)
    except ValueError as exc:
        logger.warning("heartbeats of %s not recorded: %s", ", ".join(pile_codes), exc)
