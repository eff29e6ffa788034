"""Verification limits as versioned data: one JSON file per regulation in data/, checked when loaded.

A limit is found by (item, accuracy class, verification kind); an entry with accuracy_class null
applies to every class, one with verification "any" to first and subsequent verification alike, and
the more specific entry wins. Every result names the regulation and data revision it was judged by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
VERIFICATIONS = ("first", "subsequent")
COMPARISONS = ("abs_max", "min", "all_true")
SOURCES = ("regulation", "assumption")
BY_PILE_KIND = {"ac": "JJG 1148-2022", "dc": "JJG 1149-2022"}


class LimitsError(ValueError):
    """Limits data that is malformed, or a limit that the data does not hold."""


@dataclass(frozen=True)
class Limit:
    item: str
    accuracy_class: int | None
    verification: str          # "first", "subsequent" or "any"
    comparison: str            # "abs_max": |error| <= limit; "min": value >= limit; "all_true"
    limit: Decimal | None
    unit: str
    resolution: Decimal | None
    source: str                # "regulation" (from its text) or "assumption" (configurable)
    note: str
    applies_to: str | None = None
    checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class LimitSet:
    regulation: str
    edition: str
    data_revision: int
    pile_kind: str
    rounding: str
    limits: tuple[Limit, ...] = field(repr=False)
    interval_months: int = 36          # verification period: next due = sealed day + this many months

    @property
    def reference(self) -> str:
        return f"{self.regulation} (limits data revision {self.data_revision})"

    def items(self) -> list[str]:
        return list(dict.fromkeys(limit.item for limit in self.limits))

    def lookup(self, item: str, *, accuracy_class: int, verification: str) -> Limit:
        if verification not in VERIFICATIONS:
            raise LimitsError(f"verification must be one of {', '.join(VERIFICATIONS)}, not {verification!r}")
        candidates = [
            limit for limit in self.limits
            if limit.item == item
            and limit.accuracy_class in (None, accuracy_class)
            and limit.verification in ("any", verification)
        ]
        if not candidates:
            raise LimitsError(f"{self.reference} holds no limit for {item}, class {accuracy_class}, "
                              f"{verification} verification")
        return max(candidates, key=lambda l: (l.accuracy_class is not None, l.verification != "any"))


def _decimal(value, where: str) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise LimitsError(f"{where}: write numbers as decimal strings, like \"1.0\"")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise LimitsError(f"{where}: {value!r} is not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise LimitsError(f"{where}: {value!r} must be a finite number >= 0")
    return number


def _limit(entry: dict, where: str) -> Limit:
    required = {"item", "accuracy_class", "verification", "comparison", "limit", "unit", "resolution", "source", "note"}
    missing = required - set(entry)
    if missing:
        raise LimitsError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = set(entry) - required - {"applies_to", "checks"}
    if unknown:
        raise LimitsError(f"{where}: unknown field {', '.join(sorted(unknown))}")
    if entry["verification"] not in (*VERIFICATIONS, "any"):
        raise LimitsError(f"{where}: verification must be first, subsequent or any")
    if entry["comparison"] not in COMPARISONS:
        raise LimitsError(f"{where}: comparison must be one of {', '.join(COMPARISONS)}")
    if entry["source"] not in SOURCES:
        raise LimitsError(f"{where}: source must be regulation or assumption")
    if entry["accuracy_class"] is not None and not isinstance(entry["accuracy_class"], int):
        raise LimitsError(f"{where}: accuracy_class is an integer or null")
    limit = _decimal(entry["limit"], f"{where}.limit")
    if (limit is None) != (entry["comparison"] == "all_true"):
        raise LimitsError(f"{where}: only an all_true comparison goes without a limit value")
    return Limit(
        item=entry["item"], accuracy_class=entry["accuracy_class"], verification=entry["verification"],
        comparison=entry["comparison"], limit=limit, unit=entry["unit"],
        resolution=_decimal(entry["resolution"], f"{where}.resolution"), source=entry["source"],
        note=entry["note"], applies_to=entry.get("applies_to"), checks=tuple(entry.get("checks", ())),
    )


def parse_limits(document: dict, origin: str = "limits data") -> LimitSet:
    for key in ("regulation", "edition", "data_revision", "pile_kind", "rounding", "limits"):
        if key not in document:
            raise LimitsError(f"{origin}: missing {key}")
    if document["rounding"].get("mode") != "half_even":
        raise LimitsError(f"{origin}: only half_even rounding is implemented")
    limits = tuple(_limit(entry, f"{origin}: limits[{i}]") for i, entry in enumerate(document["limits"]))
    keys = [(l.item, l.accuracy_class, l.verification) for l in limits]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise LimitsError(f"{origin}: more than one limit for {sorted(duplicates, key=str)}")
    interval = document.get("verification_interval", {"months": 36})
    months = interval.get("months") if isinstance(interval, dict) else None
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 240:
        raise LimitsError(f"{origin}: verification_interval.months must be an integer from 1 to 240")
    return LimitSet(regulation=document["regulation"], edition=document["edition"],
                    data_revision=document["data_revision"], pile_kind=document["pile_kind"],
                    rounding=document["rounding"]["mode"], limits=limits, interval_months=months)


@lru_cache(maxsize=None)
def load_limits(regulation: str) -> LimitSet:
    """The limits of a regulation named like "JJG 1148-2022", from data/jjg1148-2022.json."""
    path = DATA_DIR / (regulation.lower().replace(" ", "") + ".json")
    if not path.is_file():
        raise LimitsError(f"no limits data for {regulation} in {DATA_DIR}")
    limit_set = parse_limits(json.loads(path.read_text(encoding="utf-8")), path.name)
    if limit_set.regulation != regulation:
        raise LimitsError(f"{path.name} holds {limit_set.regulation}, not {regulation}")
    return limit_set


def limits_for_pile_kind(kind: str) -> LimitSet:
    """AC piles are verified under JJG 1148-2022, DC chargers under JJG 1149-2022."""
    if kind not in BY_PILE_KIND:
        raise LimitsError(f"pile kind must be ac or dc, not {kind!r}")
    return load_limits(BY_PILE_KIND[kind])
