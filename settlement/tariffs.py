"""Time-of-use tariffs and the split of a session's energy over bands and periods. Pure: no Django.

A tariff lists bands by local time of day (peak, flat, valley), each with a price in CNY per kWh, valid
from a local date until the next tariff of the same area. The split rule (docs/settlement.md, "Split
rule"): the meter curve of a session is the straight line between consecutive known meter readings
(start, any signed intermediate readings, stop); the energy of a slice of time is the rise of that
curve over the slice; slices are cut at every band boundary and settlement-period boundary. Whole Wh
per slice come from the largest-remainder method, so the slices add up to the session's energy exactly.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from core.localtime import period_of
from ledger.contracts import InvalidInput, decimal_value

BANDS = ("peak", "flat", "valley")
CENT = Decimal("0.01")
PRICE_DECIMALS = 5
MINUTES_PER_DAY = 24 * 60


class TariffError(ValueError):
    """A tariff that does not describe every minute of the day exactly once, or a bad price."""


@dataclass(frozen=True)
class Window:
    start_minute: int  # local minute of day, inclusive
    end_minute: int  # exclusive; 1440 = midnight
    band: str


@dataclass(frozen=True)
class Tariff:
    valid_from: dt.date
    windows: tuple[Window, ...]
    prices: dict  # band -> Decimal CNY per kWh

    def band_at_minute(self, minute: int) -> str:
        for w in self.windows:
            if w.start_minute <= minute < w.end_minute:
                return w.band
        raise TariffError(f"no band at minute {minute}")


def parse_hhmm(text: str) -> int:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise TariffError(f"{text!r} is not a time HH:MM")
    try:
        hours, minutes = int(text[:2]), int(text[3:])
    except ValueError:
        raise TariffError(f"{text!r} is not a time HH:MM") from None
    if text == "24:00":
        return MINUTES_PER_DAY
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise TariffError(f"{text!r} is not a time HH:MM")
    return hours * 60 + minutes


def parse_price(value) -> Decimal:
    if not isinstance(value, str):
        raise TariffError("prices are decimal strings")
    try:
        return decimal_value(value, "price", low=Decimal(0), high=Decimal(100), places=PRICE_DECIMALS)
    except InvalidInput:
        raise TariffError(f"{value!r}: a price is 0 to 100 CNY/kWh with at most 5 decimals") from None


def build_tariff(*, valid_from: dt.date, windows: list, prices: dict) -> Tariff:
    """windows: [{"from": "HH:MM", "to": "HH:MM", "band": "peak"}...] covering the day exactly once."""
    if not isinstance(windows, list) or not windows or len(windows) > 48:
        raise TariffError("a tariff has 1 to 48 windows")
    parsed = []
    for w in windows:
        if not isinstance(w, dict) or set(w) != {"from", "to", "band"}:
            raise TariffError("a window is {from, to, band}")
        if w["band"] not in BANDS:
            raise TariffError(f"band must be one of {', '.join(BANDS)}")
        start, end = parse_hhmm(w["from"]), parse_hhmm(w["to"])
        if end <= start:
            raise TariffError("a window ends after it starts (split windows at midnight)")
        parsed.append(Window(start, end, w["band"]))
    parsed.sort(key=lambda w: w.start_minute)
    cursor = 0
    for w in parsed:
        if w.start_minute != cursor:
            raise TariffError(f"windows leave a gap or overlap at minute {cursor}")
        cursor = w.end_minute
    if cursor != MINUTES_PER_DAY:
        raise TariffError("windows must cover the whole day")
    if not isinstance(prices, dict) or set(prices) != {w.band for w in parsed}:
        raise TariffError("give one price for each band used, and no others")
    return Tariff(valid_from, tuple(parsed), {band: parse_price(p) for band, p in prices.items()})


def tariff_on(tariffs: list[Tariff], day: dt.date) -> Tariff | None:
    """The tariff in force on a local day: the latest valid_from not after it."""
    best = None
    for t in tariffs:
        if t.valid_from <= day and (best is None or t.valid_from > best.valid_from):
            best = t
    return best


def check_period(period) -> str:
    if not isinstance(period, str) or len(period) != 7 or period[4] != "-":
        raise TariffError("a period is YYYY-MM")
    try:
        year, month = int(period[:4]), int(period[5:7])
    except ValueError:
        raise TariffError("a period is YYYY-MM") from None
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        raise TariffError("a period is YYYY-MM")
    return period


def _cuts(start: dt.datetime, stop: dt.datetime, tariffs: list[Tariff], tz: ZoneInfo) -> list[tuple[dt.datetime, tuple]]:
    """Every instant in (start, stop) where the band or the period may change (window starts,
    midnights), in order, each with the label (period, band) of the slice it begins."""
    cuts = []
    day = start.astimezone(tz).date()
    last = stop.astimezone(tz).date()
    while day <= last:
        tariff = tariff_on(tariffs, day)
        cuts.extend(cut for cut in _day_cuts(day, tariff.windows if tariff else (), tz) if start < cut[0] < stop)
        day += dt.timedelta(days=1)
    return cuts


@functools.lru_cache(maxsize=4096)
def _day_cuts(day: dt.date, windows: tuple, tz: ZoneInfo) -> tuple[tuple[dt.datetime, tuple], ...]:
    """The local midnight and window starts of a day, in UTC and in order, with their labels as
    `_label` gives them (the same for every session of that day: computed once)."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    minutes = {0, *(w.start_minute for w in windows)}
    instants = sorted((midnight + dt.timedelta(minutes=m)).astimezone(dt.timezone.utc) for m in minutes)
    return tuple((at, _label_with(at, Tariff(day, windows, {}) if windows else None, tz)) for at in instants)


def _label(moment: dt.datetime, tariffs: list[Tariff], tz: ZoneInfo) -> tuple[str, str]:
    return _label_with(moment, tariff_on(tariffs, moment.astimezone(tz).date()), tz)


def _label_with(moment: dt.datetime, tariff: Tariff | None, tz: ZoneInfo) -> tuple[str, str]:
    local = moment.astimezone(tz)
    band = tariff.band_at_minute(local.hour * 60 + local.minute) if tariff else "untariffed"
    return period_of(moment, tz), band


def _curve(start, stop, energy_wh, readings):
    """Points (time, Wh since start) of the meter curve, strictly increasing in time, clipped to the session."""
    points = [(start, Fraction(0))]
    for at, wh in sorted(readings):
        if start < at < stop and points[-1][0] < at:
            points.append((at, Fraction(min(max(wh, points[-1][1]), energy_wh))))
    points.append((stop, Fraction(energy_wh)))
    return points


MILLISECOND = dt.timedelta(milliseconds=1)


def whole_ms(delta: dt.timedelta) -> int:
    """Whole milliseconds of a duration, as settlement counts time: in integers. Through a float
    (total_seconds() * 1000), 1,001 ms come out as 1,000, and so do about 1 % of all durations."""
    return delta // MILLISECOND


def _value_at(points, at) -> Fraction:
    for (t0, e0), (t1, e1) in zip(points, points[1:]):
        if t0 <= at <= t1:
            span = whole_ms(t1 - t0)
            if span == 0:
                return e1
            return e0 + (e1 - e0) * Fraction(whole_ms(at - t0), span)
    return points[-1][1]


def _largest_remainder(energy_wh: int, shares: list[tuple[object, int, int]]) -> list[int]:
    """Whole Wh per slice from exact shares numerator/denominator (never negative): floors, then the Wh
    left over one each to the largest remainders, ties to the earlier slice, so every node rounds alike."""
    whole = [numerator // denominator for _, numerator, denominator in shares]
    missing = energy_wh - sum(whole)
    if len({denominator for _, _, denominator in shares}) == 1:  # in proportion to time: one denominator
        order = sorted(range(len(shares)), key=lambda i: (-(shares[i][1] % shares[i][2]), i))
    else:
        order = sorted(range(len(shares)), key=lambda i: (-Fraction(shares[i][1] % shares[i][2], shares[i][2]), i))
    for i in order[:missing]:
        whole[i] += 1
    return whole


def split_energy(
    *, start: dt.datetime, stop: dt.datetime, energy_wh: int, tariffs: list[Tariff], tz: ZoneInfo,
    readings: list[tuple[dt.datetime, int]] = (),
) -> dict[tuple[str, str], int]:
    """Whole Wh per (period, band) for one session. `readings`: (time, Wh since the session's start)."""
    if energy_wh < 0:
        raise ValueError("negative energy")
    if stop <= start:
        return {_label(start, tariffs, tz): energy_wh}
    cuts = _cuts(start, stop, tariffs, tz)
    edges = [start, *(at for at, _ in cuts), stop]
    labels = [_label(start, tariffs, tz), *(label for _, label in cuts)]
    if not any(start < at < stop for at, _ in readings):
        # In proportion to time: the curve is the straight line from (start, 0) to (stop, energy), so
        # a slice's share is energy x its milliseconds / the session's, in integers.
        span = whole_ms(stop - start)
        if span == 0:
            return {labels[0]: energy_wh}
        marks = [whole_ms(b - start) for b in edges]
        shares = [(label, energy_wh * (b - a), span) for label, a, b in zip(labels, marks, marks[1:])]
    else:
        points = _curve(start, stop, energy_wh, readings)
        shares, previous = [], Fraction(0)
        for label, b in zip(labels, edges[1:]):
            value = _value_at(points, b)
            shares.append((label, (value - previous).numerator, (value - previous).denominator))
            previous = value
    result: dict[tuple[str, str], int] = {}
    for (label, _, _), wh in zip(shares, _largest_remainder(energy_wh, shares)):
        result[label] = result.get(label, 0) + wh
    return result


def money(energy_wh: int, price_per_kwh: Decimal) -> Decimal:
    """CNY for an item: exact kWh times price, rounded once, half up, to the cent (docs/settlement.md)."""
    return (Decimal(energy_wh) * price_per_kwh / Decimal(1000)).quantize(CENT, rounding=ROUND_HALF_UP)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
