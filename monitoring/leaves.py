"""The canonical encoding of a reading as a Merkle leaf (pure): what an anchor commits to."""

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
