"""The pure core: tariff windows, the split rule, rounding, the exclusion checks. Expected values by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from settlement import checks
from core.localtime import period_bounds
from settlement.tariffs import TariffError, build_tariff, money, split_energy, whole_ms

CN = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
WINDOWS = [
    {"from": "00:00", "to": "08:00", "band": "valley"},
    {"from": "08:00", "to": "10:00", "band": "flat"},
    {"from": "10:00", "to": "15:00", "band": "peak"},
    {"from": "15:00", "to": "18:00", "band": "flat"},
    {"from": "18:00", "to": "21:00", "band": "peak"},
    {"from": "21:00", "to": "24:00", "band": "flat"},
]
PRICES = {"peak": "1.08200", "flat": "0.67400", "valley": "0.31600"}


def tariff():
    return build_tariff(valid_from=dt.date(2030, 1, 1), windows=WINDOWS, prices=PRICES)


def local(*args):
    return dt.datetime(*args, tzinfo=CN)


def test_windows_must_cover_the_day_once():
    with pytest.raises(TariffError, match="gap or overlap"):
        build_tariff(valid_from=dt.date(2030, 1, 1), windows=WINDOWS[1:], prices=PRICES)
    with pytest.raises(TariffError, match="cover the whole day"):
        build_tariff(valid_from=dt.date(2030, 1, 1), windows=WINDOWS[:-1], prices=PRICES)
    with pytest.raises(TariffError, match="one price for each band"):
        build_tariff(valid_from=dt.date(2030, 1, 1), windows=WINDOWS, prices={"peak": "1"})
    with pytest.raises(TariffError, match="at most 5 decimals"):
        build_tariff(valid_from=dt.date(2030, 1, 1), windows=WINDOWS, prices={**PRICES, "peak": "1.000001"})
    with pytest.raises(TariffError, match="HH:MM"):
        build_tariff(valid_from=dt.date(2030, 1, 1), windows=[{"from": "0:00", "to": "24:00", "band": "flat"}],
                     prices={"flat": "1"})
    with pytest.raises(TariffError, match="band must be"):
        build_tariff(valid_from=dt.date(2030, 1, 1), windows=[{"from": "00:00", "to": "24:00", "band": "cheap"}],
                     prices={"cheap": "1"})


def test_split_in_proportion_to_time_across_a_band_boundary():
    # 09:30-10:30 local, 7000 Wh, no readings: half flat, half peak.
    got = split_energy(start=local(2030, 3, 5, 9, 30), stop=local(2030, 3, 5, 10, 30), energy_wh=7000,
                       tariffs=[tariff()], tz=CN)
    assert got == {("2030-03", "flat"): 3500, ("2030-03", "peak"): 3500}


def test_split_by_readings_and_remainders_add_up():
    # 07:00-09:00 with a signed reading at 08:00 showing 1001 Wh: the valley gets 1001, the flat the rest.
    got = split_energy(start=local(2030, 3, 5, 7), stop=local(2030, 3, 5, 9), energy_wh=3000,
                       readings=[(local(2030, 3, 5, 8), 1001)], tariffs=[tariff()], tz=CN)
    assert got == {("2030-03", "valley"): 1001, ("2030-03", "flat"): 1999}
    # Thirds that do not divide: 07:00-09:00 with no readings, 1001 Wh -> 500.5 each; the tie goes first.
    got = split_energy(start=local(2030, 3, 5, 7), stop=local(2030, 3, 5, 9), energy_wh=1001,
                       tariffs=[tariff()], tz=CN)
    assert got == {("2030-03", "valley"): 501, ("2030-03", "flat"): 500}


def test_split_across_the_month_end():
    # 31 March 23:00 to 1 April 01:00 local, 4000 Wh: 2000 flat in March, 2000 valley in April.
    got = split_energy(start=local(2030, 3, 31, 23), stop=local(2030, 4, 1, 1), energy_wh=4000,
                       tariffs=[tariff()], tz=CN)
    assert got == {("2030-03", "flat"): 2000, ("2030-04", "valley"): 2000}
    start, end = period_bounds("2030-03", CN)
    assert (start, end) == (dt.datetime(2030, 2, 28, 16, tzinfo=UTC), dt.datetime(2030, 3, 31, 16, tzinfo=UTC))


def test_money_rounds_once_half_up_to_the_cent():
    assert money(3500, Decimal("1.08200")) == Decimal("3.79")  # 3.787
    assert money(2500, Decimal("0.31600")) == Decimal("0.79")  # 0.79 exactly
    assert money(1250, Decimal("0.67400")) == Decimal("0.84")  # 0.8425 -> 0.84
    assert money(1875, Decimal("0.67400")) == Decimal("1.26")  # 1.26375 -> 1.26
    assert money(625, Decimal("0.67400")) == Decimal("0.42")  # 0.42125
    assert money(1, Decimal("5.00000")) == Decimal("0.01")  # 0.005 -> half up


def session(**kw):
    base = dict(uid="s", pile="P", connector=1, started_at=local(2030, 3, 1, 10), stopped_at=local(2030, 3, 1, 11),
                energy_wh=7000, status="closed", signature_ok=True, signed_energy_wh=7000)
    base.update(kw)
    return checks.SessionFacts(**base)


@pytest.mark.parametrize("facts,kw,reason", [
    (session(), {}, None),
    (session(signature_ok=False, status="signature_failed"), {}, "signature_failed"),
    (session(status="disputed", energy_wh=None), {}, "disputed"),
    (session(), {"compliance_status": "non_compliant"}, "non_compliant"),
    (session(), {"compliance_status": "overdue"}, "overdue"),
    (session(), {"compliance_status": "unverified"}, "unverified"),
    (session(), {"online": False}, "never_online"),
    (session(), {"accepted": [(local(2030, 3, 1, 10, 30), local(2030, 3, 1, 12))]}, "overlapping"),
    (session(), {"accepted": [(local(2030, 3, 1, 9), local(2030, 3, 1, 10))]}, None),  # touching
    (session(energy_wh=7001, signed_energy_wh=7001), {}, "power_above_rated"),  # 7.001 kW on a 7 kW pile
    (session(stopped_at=local(2030, 3, 1, 10)), {}, "power_above_rated"),  # energy in no time
    (session(energy_wh=6000, signed_energy_wh=5000), {}, "energy_above_meter"),
    (session(signed_energy_wh=None, signature_ok=None), {}, None),
])
def test_checks(facts, kw, reason):
    args = {"rated_kw": Decimal("7"), "compliance_status": "compliant", "online": True, "accepted": []}
    args.update(kw)
    assert checks.assess(facts, **args) == reason


def test_time_is_counted_in_whole_milliseconds_without_floats():
    """total_seconds() * 1000 makes 1,001 ms into 1,000 (and about 1 % of all durations one short)."""
    one_ms = dt.timedelta(milliseconds=1)
    assert [whole_ms(n * one_ms) for n in (1001, 1003, 2001, 86_400_001)] == [1001, 1003, 2001, 86_400_001]
    assert whole_ms(dt.timedelta(microseconds=1999)) == 1
    # 4002 Wh over 2,001 ms, 1,001 of them before the 10:00 band change: 2002 flat, 2000 peak.
    cut = local(2030, 3, 5, 10)
    got = split_energy(start=cut - 1001 * one_ms, stop=cut + 1000 * one_ms, energy_wh=4002, tariffs=[tariff()], tz=CN)
    assert got == {("2030-03", "flat"): 2002, ("2030-03", "peak"): 2000}
    # 1001 Wh in 1.001 s on a 3,600 kW pile is exactly the rated power: not above it.
    start = local(2030, 3, 5, 12)
    exactly_rated = session(started_at=start, stopped_at=start + 1001 * one_ms, energy_wh=1001, signed_energy_wh=None)
    assert checks.power_above_rated(exactly_rated, Decimal("3600")) is None
    assert checks.power_above_rated(session(started_at=start, stopped_at=start + 1000 * one_ms, energy_wh=1001,
                                            signed_energy_wh=None), Decimal("3600")) == "power_above_rated"


def _reference_split(*, start, stop, energy_wh, tariffs, tz, readings=()):
    """The split rule as docs/settlement.md writes it, plainly: cut at every local midnight and
    window start, the curve through the verified readings, exact fractions, largest remainder."""
    from fractions import Fraction

    from settlement.tariffs import tariff_on

    def label(moment):
        local = moment.astimezone(tz)
        t = tariff_on(tariffs, local.date())
        return f"{local.year:04d}-{local.month:02d}", (t.band_at_minute(local.hour * 60 + local.minute) if t else "untariffed")

    def ms(delta):
        return delta // dt.timedelta(milliseconds=1)

    if stop <= start:
        return {label(start): energy_wh}
    cuts, day = set(), start.astimezone(tz).date()
    while day <= stop.astimezone(tz).date():
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        t = tariff_on(tariffs, day)
        for minute in {0, *((w.start_minute for w in t.windows) if t else ())}:
            at = (midnight + dt.timedelta(minutes=minute)).astimezone(UTC)
            if start < at < stop:
                cuts.add(at)
        day += dt.timedelta(days=1)
    points = [(start, Fraction(0))]
    for at, wh in sorted(readings):
        if start < at < stop and points[-1][0] < at:
            points.append((at, Fraction(min(max(wh, points[-1][1]), energy_wh))))
    points.append((stop, Fraction(energy_wh)))

    def value(at):
        for (t0, e0), (t1, e1) in zip(points, points[1:]):
            if t0 <= at <= t1:
                return e1 if ms(t1 - t0) == 0 else e0 + (e1 - e0) * Fraction(ms(at - t0), ms(t1 - t0))

    edges = [start, *sorted(cuts), stop]
    shares = [(label(a), value(b) - value(a)) for a, b in zip(edges, edges[1:])]
    whole = [int(share) for _, share in shares]
    for i in sorted(range(len(shares)), key=lambda i: (-(shares[i][1] - whole[i]), i))[:energy_wh - sum(whole)]:
        whole[i] += 1
    result = {}
    for (key, _), wh in zip(shares, whole):
        result[key] = result.get(key, 0) + wh
    return result


def test_the_split_matches_the_rule_as_written_on_random_sessions():
    import random

    rnd = random.Random(20300301)
    night = build_tariff(valid_from=dt.date(2030, 3, 15), prices={"valley": "0.3", "peak": "1.2"},
                         windows=[{"from": "00:00", "to": "07:00", "band": "valley"},
                                  {"from": "07:00", "to": "24:00", "band": "peak"}])
    tariffs = [tariff(), night]
    for _ in range(1500):
        start = dt.datetime(2030, 3, rnd.randint(1, 31), rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59),
                            rnd.randint(0, 999) * 1000, tzinfo=CN)
        stop = start + dt.timedelta(milliseconds=rnd.randint(0, 3 * 86_400_000))
        energy = rnd.randint(0, 150_000)
        readings = []
        if rnd.random() < 0.3:  # verified intermediate readings, sometimes out of order or outside
            for _ in range(rnd.randint(1, 4)):
                readings.append((start + (stop - start) * rnd.random(), rnd.randint(0, energy)))
        got = {(p, b): wh for (p, b), wh in split_energy(start=start, stop=stop, energy_wh=energy, tariffs=tariffs,
                                                         tz=CN, readings=readings).items() if wh}
        want = {k: wh for k, wh in _reference_split(start=start, stop=stop, energy_wh=energy, tariffs=tariffs, tz=CN,
                                                     readings=readings).items() if wh}
        assert got == want, (start, stop, energy, readings)
