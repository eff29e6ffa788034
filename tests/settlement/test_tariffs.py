"""The pure core: tariff windows, the split rule, rounding, the exclusion checks. Expected values by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from settlement import checks
from settlement.tariffs import TariffError, build_tariff, money, period_bounds, split_energy

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
