"""Limits data and the conclusion rules, at the boundaries; every expected value is written out by hand."""

from decimal import Decimal

import pytest

from calibration.limits.conclusion import (
    FAIL, INCOMPLETE, NOT_APPLICABLE, PASS, Readings, billing_error_cny, clock_error_seconds, evaluate,
    indication_error_percent, within, working_error_percent,
)
from calibration.limits.table import LimitsError, limits_for_pile_kind, load_limits, parse_limits

AC = limits_for_pile_kind("ac")
DC = limits_for_pile_kind("dc")
CHECKS = {name: True for name in AC.lookup("visual_functional", accuracy_class=1, verification="first").checks}


def judge(item, value, *, accuracy_class=1, verification="first", limits=AC):
    return within(value, limits.lookup(item, accuracy_class=accuracy_class, verification=verification))


# -- working error: (indicated - standard) / standard * 100, rounded to 0.01 % half to even ----------

@pytest.mark.parametrize("standard, indicated, expected, passes", [
    (1_000_000, 1_009_900, Decimal("0.99"), True),     # just inside
    (1_000_000, 1_010_000, Decimal("1.00"), True),     # exactly at the limit passes
    (1_000_000, 1_010_100, Decimal("1.01"), False),    # just outside
    (1_000_000, 990_100, Decimal("-0.99"), True),
    (1_000_000, 990_000, Decimal("-1.00"), True),
    (1_000_000, 989_900, Decimal("-1.01"), False),
    (1_000_000, 1_010_049, Decimal("1.00"), True),     # 1.0049 rounds down
    (1_000_000, 1_010_050, Decimal("1.00"), True),     # 1.0050: half to even, down to 1.00
    (1_000_000, 1_010_150, Decimal("1.02"), False),    # 1.0150: half to even, up to 1.02
    (1_000_000, 1_010_051, Decimal("1.01"), False),    # 1.0051 rounds up, outside
    (3_000_000, 3_030_001, Decimal("1.00"), True),     # 1.0000333...
])
def test_working_error_class_1(standard, indicated, expected, passes):
    error = working_error_percent(standard, indicated, Decimal("0.01"))
    assert error == expected and str(error) == str(expected)
    assert judge("working_error", error, accuracy_class=1) is passes


@pytest.mark.parametrize("standard, indicated, expected, passes", [
    (1_000_000, 1_019_900, Decimal("1.99"), True),
    (1_000_000, 1_020_000, Decimal("2.00"), True),
    (1_000_000, 1_020_100, Decimal("2.01"), False),
    (1_000_000, 980_000, Decimal("-2.00"), True),
    (1_000_000, 979_900, Decimal("-2.01"), False),
    (500_000, 510_000, Decimal("2.00"), True),
])
def test_working_error_class_2(standard, indicated, expected, passes):
    error = working_error_percent(standard, indicated, Decimal("0.01"))
    assert error == expected
    assert judge("working_error", error, accuracy_class=2) is passes
    assert judge("working_error", error, accuracy_class=2, limits=DC) is passes


def test_the_same_reading_fails_class_1_and_passes_class_2():
    error = working_error_percent(1_000_000, 1_015_000, Decimal("0.01"))
    assert error == Decimal("1.50")
    assert not judge("working_error", error, accuracy_class=1)
    assert judge("working_error", error, accuracy_class=2)


# -- clock error: at most 5 s at first verification, 3 min at subsequent ones ---------------------

@pytest.mark.parametrize("pile_ms, reference_ms, expected, first, subsequent", [
    (1_000_004_999, 1_000_000_000, Decimal("4.999"), True, True),
    (1_000_005_000, 1_000_000_000, Decimal("5.000"), True, True),
    (1_000_005_001, 1_000_000_000, Decimal("5.001"), False, True),
    (999_995_000, 1_000_000_000, Decimal("-5.000"), True, True),
    (999_994_999, 1_000_000_000, Decimal("-5.001"), False, True),
    (1_000_179_999, 1_000_000_000, Decimal("179.999"), False, True),
    (1_000_180_000, 1_000_000_000, Decimal("180.000"), False, True),
    (1_000_180_001, 1_000_000_000, Decimal("180.001"), False, False),
    (999_820_000, 1_000_000_000, Decimal("-180.000"), False, True),
    (999_819_999, 1_000_000_000, Decimal("-180.001"), False, False),
])
def test_clock_error(pile_ms, reference_ms, expected, first, subsequent):
    error = clock_error_seconds(pile_ms, reference_ms, Decimal("0.001"))
    assert error == expected
    assert judge("clock_error", error, verification="first") is first
    assert judge("clock_error", error, verification="subsequent") is subsequent


# -- billing and indication error ------------------------------------------------------------------

@pytest.mark.parametrize("billed, expected, passes", [
    ("2.0500", Decimal("0.0000"), True),
    ("2.0600", Decimal("0.0100"), True),
    ("2.0601", Decimal("0.0101"), False),
    ("2.0400", Decimal("-0.0100"), True),
    ("2.0399", Decimal("-0.0101"), False),
])
def test_billing_error_is_billed_minus_energy_times_tariff(billed, expected, passes):
    # 2 562 500 mWh = 2.5625 kWh at 0.8000 CNY/kWh = 2.0500 CNY
    error = billing_error_cny(billed, 2_562_500, "0.8000", Decimal("0.0001"))
    assert error == expected
    assert judge("billing_error", error) is passes


def test_billing_error_rounds_half_to_even_at_a_ten_thousandth():
    # 1 234 567 mWh x 0.6543 CNY/kWh = 0.80777718... CNY; billed 0.81 -> 0.00222281... -> 0.0022
    assert billing_error_cny("0.8100", 1_234_567, "0.6543", Decimal("0.0001")) == Decimal("0.0022")


def test_indication_error():
    assert indication_error_percent(2_500_000, 2_525_000, Decimal("0.01")) == Decimal("1.00")
    assert indication_error_percent(2_500_000, 2_450_000, Decimal("0.01")) == Decimal("-2.00")


def test_floats_are_refused_in_readings():
    with pytest.raises(TypeError, match="float"):
        working_error_percent(1_000_000, 1_010_000.0)
    with pytest.raises(ValueError, match="positive"):
        working_error_percent(0, 10)


# -- the conclusion --------------------------------------------------------------------------------

def readings(**changes):
    base = dict(
        load_points=[(1_000_000, 1_010_000), (1_000_000, 1_009_900), (500_000, 495_000)],
        indication=(2_500_000, 2_524_900), billing=("2.0200", 2_524_900, "0.8000"),
        clock=(1_000_005_000, 1_000_000_000), visual_checks=dict(CHECKS), insulation_mohm="10.0",
    )
    base.update(changes)
    return Readings(**base)


def test_everything_at_or_inside_its_limit_passes():
    c = evaluate(readings(), limits=AC, accuracy_class=1, verification="first")
    assert c.overall == PASS
    assert [(i.item, i.status) for i in c.items] == [
        ("visual_functional", PASS), ("insulation_resistance", PASS), ("working_error", PASS),
        ("indication_error", PASS), ("billing_error", PASS), ("clock_error", PASS),
    ]
    working = c.item("working_error")
    assert working.details == (Decimal("1.00"), Decimal("0.99"), Decimal("-1.00"))
    assert working.value == Decimal("1.00")
    assert c.item("billing_error").value == Decimal("0.0001")  # 2.0200 - 2.5249 x 0.8000 = 0.00008
    assert c.to_dict()["items"][2]["details"] == ["1.00", "0.99", "-1.00"]
    assert (c.regulation, c.data_revision) == ("JJG 1148-2022", 1)


def test_one_load_point_outside_fails_the_item_and_the_whole():
    c = evaluate(readings(load_points=[(1_000_000, 1_010_000), (1_000_000, 1_010_100), (500_000, 500_000)]),
                 limits=AC, accuracy_class=1, verification="first")
    assert c.item("working_error").status == FAIL
    assert c.item("working_error").value == Decimal("1.01")
    assert c.overall == FAIL


def test_clock_drift_of_6_s_fails_first_but_passes_subsequent_verification():
    r = readings(clock=(1_000_006_000, 1_000_000_000))
    assert evaluate(r, limits=AC, accuracy_class=1, verification="first").overall == FAIL
    assert evaluate(r, limits=AC, accuracy_class=1, verification="subsequent").overall == PASS


def test_clock_is_not_judged_for_a_pile_without_time_of_use():
    c = evaluate(readings(clock=(1_000_600_000, 1_000_000_000), time_of_use=False),
                 limits=AC, accuracy_class=1, verification="first")
    assert c.item("clock_error").status == NOT_APPLICABLE
    assert c.overall == PASS


def test_insulation_is_a_minimum_inclusive():
    assert evaluate(readings(insulation_mohm="9.9"), limits=AC, accuracy_class=1,
                    verification="first").item("insulation_resistance").status == FAIL
    assert evaluate(readings(insulation_mohm="10"), limits=AC, accuracy_class=1,
                    verification="first").item("insulation_resistance").status == PASS


def test_missing_observations_make_it_incomplete_not_pass():
    c = evaluate(readings(insulation_mohm=None), limits=AC, accuracy_class=1, verification="first")
    assert c.item("insulation_resistance").status == INCOMPLETE and c.overall == INCOMPLETE
    checks = dict(CHECKS)
    del checks["display"]
    c = evaluate(readings(visual_checks=checks), limits=AC, accuracy_class=1, verification="first")
    assert c.overall == INCOMPLETE and "display" in c.item("visual_functional").reason
    checks["display"] = False
    c = evaluate(readings(visual_checks=checks), limits=AC, accuracy_class=1, verification="first")
    assert c.overall == FAIL and c.item("visual_functional").details == ("display",)


def test_too_few_load_points_is_incomplete_and_a_failing_one_still_fails():
    c = evaluate(readings(load_points=[(1_000_000, 1_000_000)]), limits=AC, accuracy_class=1, verification="first")
    assert c.item("working_error").status == INCOMPLETE and c.overall == INCOMPLETE
    c = evaluate(readings(load_points=[(1_000_000, 1_030_000)]), limits=AC, accuracy_class=1, verification="first")
    assert c.item("working_error").status == FAIL and c.overall == FAIL


# -- the data --------------------------------------------------------------------------------------

@pytest.mark.parametrize("limits", [AC, DC], ids=["JJG 1148-2022", "JJG 1149-2022"])
def test_values_from_the_regulation_text(limits):
    def limit(item, cls=1, verification="first"):
        entry = limits.lookup(item, accuracy_class=cls, verification=verification)
        return entry.limit, entry.unit, entry.source

    assert limit("working_error", 1) == (Decimal("1.0"), "%", "regulation")
    assert limit("working_error", 2) == (Decimal("2.0"), "%", "regulation")
    assert limit("clock_error", verification="first") == (Decimal("5"), "s", "regulation")
    assert limit("clock_error", verification="subsequent") == (Decimal("180"), "s", "regulation")
    # Not from the regulation text: kept as configurable assumptions, and marked so.
    for item in ("insulation_resistance", "indication_error", "billing_error", "working_error_load_points"):
        assert limits.lookup(item, accuracy_class=1, verification="first").source == "assumption"


def test_unknown_class_or_verification_is_an_error():
    with pytest.raises(LimitsError, match="class 3"):
        AC.lookup("working_error", accuracy_class=3, verification="first")
    with pytest.raises(LimitsError, match="verification"):
        AC.lookup("working_error", accuracy_class=1, verification="periodic")
    with pytest.raises(LimitsError, match="no limits data"):
        load_limits("JJG 9999-2030")


def test_malformed_limits_data_is_refused():
    good = {"regulation": "X", "edition": "1", "data_revision": 1, "pile_kind": "ac",
            "rounding": {"mode": "half_even"}, "limits": []}
    entry = {"item": "working_error", "accuracy_class": 1, "verification": "any", "comparison": "abs_max",
             "limit": "1.0", "unit": "%", "resolution": "0.01", "source": "regulation", "note": ""}
    assert parse_limits({**good, "limits": [entry]}).lookup("working_error", accuracy_class=1, verification="first")
    with pytest.raises(LimitsError, match="decimal strings"):
        parse_limits({**good, "limits": [{**entry, "limit": 1.0}]})
    with pytest.raises(LimitsError, match="source"):
        parse_limits({**good, "limits": [{**entry, "source": "folklore"}]})
    with pytest.raises(LimitsError, match="more than one"):
        parse_limits({**good, "limits": [entry, entry]})
    with pytest.raises(LimitsError, match="half_even"):
        parse_limits({**good, "rounding": {"mode": "half_up"}})
