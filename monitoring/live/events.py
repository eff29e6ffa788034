"""The live path's events and batches, as plain data (pure: no Django, no I/O).

An event is what an operator's gateway learnt about one of its piles, compact because thousands
travel every second:

    {"k": "status", "p": pile code, "c": connector, "s": OCPP status, "e": error code, "t": time}
    {"k": "conn",   "p": pile code, "up": true/false, "t": time}
    {"k": "meter",  "p": pile code, "c": connector, "w": power W, "wh": energy register Wh, "t": time}

Times are ISO 8601 in UTC; power and energy are decimal strings (signed data holds no floats), or
None when the sample did not carry them.

A batch is what the source node signs and sends to one member: its events numbered `first`,
`first + 1`, ... by the source's sequence, and `head`, the last number the source has given so far
(how far behind the receiver is). An empty batch is the source's heartbeat. A member so far behind
that the source no longer keeps the events it missed is sent the current state instead, in parts
(`snapshot`: {"part", "parts"}); after the last part it goes on from `first`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

KINDS = ("status", "conn", "meter")
BATCH_TYPE = "pilechain.live/1"
MAX_EVENTS_PER_BATCH = 2000
MAX_CODE = 64
MAX_STATUS = 32
MAX_ERROR = 64
NUMBER = re.compile(r"^-?\d{1,18}(\.\d{1,6})?$")


class EventError(ValueError):
    """An event or batch that does not have the shape above."""


def stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def number(value) -> str | None:
    """A Decimal as the live path carries it (at most 6 places), or None."""
    if value is None:
        return None
    return format(Decimal(value).quantize(Decimal("0.000001")).normalize(), "f")


def status(pile: str, connector_id: int, status_: str, error_code: str, at: dt.datetime) -> dict:
    return {"k": "status", "p": pile, "c": connector_id, "s": status_, "e": error_code or "", "t": stamp(at)}


def connection(pile: str, up: bool, at: dt.datetime) -> dict:
    return {"k": "conn", "p": pile, "up": bool(up), "t": stamp(at)}


def meter(pile: str, connector_id: int, power_w, energy_wh, at: dt.datetime) -> dict:
    return {"k": "meter", "p": pile, "c": connector_id, "w": number(power_w), "wh": number(energy_wh), "t": stamp(at)}


# --- checking what a member sent ------------------------------------------------------------------
def _text(event: dict, key: str, limit: int, *, required: bool = True) -> str:
    value = event.get(key)
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise EventError(f"{key} must be a string of at most {limit} characters")
    return value


def _time(value) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise EventError("t must be an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EventError("t must be an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise EventError("t needs a time zone")
    return parsed.astimezone(dt.timezone.utc)


def _connector(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 32767:
        raise EventError("c must be a connector number from 0")
    return value


def _decimal(value) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str) or not NUMBER.match(value):
        raise EventError("power and energy are decimal strings")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise EventError("power and energy are decimal strings") from None


FIELDS = {"status": {"k", "p", "c", "s", "e", "t"}, "conn": {"k", "p", "up", "t"}, "meter": {"k", "p", "c", "w", "wh", "t"}}


def parse(event) -> dict:
    """The event with its time, connector and figures as Python values; EventError if malformed."""
    if not isinstance(event, dict) or event.get("k") not in KINDS:
        raise EventError("an event is an object whose k is one of " + ", ".join(KINDS))
    kind = event["k"]
    if set(event) != FIELDS[kind]:
        raise EventError(f"a {kind} event has exactly the fields {sorted(FIELDS[kind])}")
    parsed = {"k": kind, "p": _text(event, "p", MAX_CODE).upper(), "t": _time(event["t"])}
    if kind == "status":
        parsed.update(c=_connector(event["c"]), s=_text(event, "s", MAX_STATUS), e=_text(event, "e", MAX_ERROR, required=False))
    elif kind == "conn":
        if not isinstance(event["up"], bool):
            raise EventError("up must be true or false")
        parsed["up"] = event["up"]
    else:
        parsed.update(c=_connector(event["c"]), w=_decimal(event["w"]), wh=_decimal(event["wh"]))
    return parsed


def check_batch(batch) -> dict:
    """The batch's envelope checked (not its events: each is checked on its own, so that one bad
    event is refused alone and the sequence still moves on)."""
    if not isinstance(batch, dict) or set(batch) != {"type", "chain_id", "source", "to", "first", "head", "events", "snapshot"}:
        raise EventError("a batch is {type, chain_id, source, to, first, head, events, snapshot}")
    if batch["type"] != BATCH_TYPE:
        raise EventError(f"unknown batch type {str(batch['type'])[:40]!r}")
    for key in ("first", "head"):
        value = batch[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise EventError(f"{key} must be a whole number")
    events = batch["events"]
    if not isinstance(events, list) or len(events) > MAX_EVENTS_PER_BATCH:
        raise EventError(f"events must be a list of at most {MAX_EVENTS_PER_BATCH}")
    snapshot = batch["snapshot"]
    if snapshot is None:
        if batch["first"] < 1 or batch["first"] + len(events) - 1 > batch["head"]:
            raise EventError("the events must be numbered from first (>= 1) up to head at most")
        return batch
    if not isinstance(snapshot, dict) or set(snapshot) != {"part", "parts"} or not all(
            isinstance(snapshot[k], int) and not isinstance(snapshot[k], bool) for k in ("part", "parts")):
        raise EventError("snapshot is null or {part, parts}")
    if not 1 <= snapshot["part"] <= snapshot["parts"] or batch["first"] < 1 or batch["first"] > batch["head"] + 1:
        raise EventError("a snapshot's part is 1..parts and it resumes at first <= head + 1")
    return batch


def describe(parsed: dict, *, source: str, seq: int, operator: str, area: str, area_owner: str, public: bool) -> dict:
    """An event as this node's live stream and pages show it (JSON-ready), with what its audience
    and filters need: the pile's operator, grid area and its owner, and whether the pile is public."""
    out = {
        "kind": parsed["k"], "pile": parsed["p"], "at": stamp(parsed["t"]), "source": source, "source_seq": seq,
        "operator": operator, "area": area, "area_owner": area_owner, "public": public,
    }
    if parsed["k"] == "status":
        out.update(connector_id=parsed["c"], status=parsed["s"], error_code=parsed["e"])
    elif parsed["k"] == "conn":
        out.update(online=parsed["up"])
    else:
        out.update(connector_id=parsed["c"], power_w=number(parsed["w"]), energy_wh=number(parsed["wh"]))
    return out


def private(described: dict) -> bool:
    """Whether an event shows more than a public pile's status: power and energy, and everything
    about a dedicated (non-public) pile, are for the pile's audience only (docs/architecture.md)."""
    return described["kind"] == "meter" or not described["public"]
