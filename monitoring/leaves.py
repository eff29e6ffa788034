"""Canonical encodings of telemetry as Merkle leaves (pure): a reading (what an anchor commits to)
and a status event (what a daily availability report commits to)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger.chain.encoding import canonical

LEAF_VERSION = "pilechain/reading/v1"


def decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def reading_dict(*, id: int, pile: str, connector_id: int, measurand: str, phase: str, context: str,
                 value: Decimal, unit: str, ts: dt.datetime) -> dict:
    return {
        "v": LEAF_VERSION, "id": id, "pile": pile, "connector_id": connector_id, "measurand": measurand,
        "phase": phase, "context": context, "value": decimal_text(value), "unit": unit,
        "ts": ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def reading_leaf(reading, pile_code: str) -> bytes:
    return canonical(reading_dict(
        id=reading.id, pile=pile_code, connector_id=reading.connector_id, measurand=reading.measurand,
        phase=reading.phase, context=reading.context, value=reading.value, unit=reading.unit, ts=reading.ts,
    ))


STATUS_LEAF_VERSION = "pilechain/status/v1"


def status_dict(*, id: int, pile: str, connector_id: int, status: str, error_code: str, info: str,
                ts: dt.datetime) -> dict:
    return {
        "v": STATUS_LEAF_VERSION, "id": id, "pile": pile, "connector_id": connector_id, "status": status,
        "error_code": error_code, "info": info,
        "ts": ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def status_leaf(event, pile_code: str) -> bytes:
    """A status event as a leaf of its pile's daily availability report."""
    return canonical(status_dict(
        id=event.id, pile=pile_code, connector_id=event.connector_id, status=event.status,
        error_code=event.error_code, info=event.info, ts=event.ts,
    ))
