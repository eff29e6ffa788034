"""Units of OCPP sampled values, normalised (pure)."""

from decimal import Decimal

import pytest

from monitoring.units import UnitError, normalise


@pytest.mark.parametrize("measurand, value, unit, expected", [
    ("Energy.Active.Import.Register", "1.5", "kWh", (Decimal("1500"), "Wh")),
    ("Energy.Active.Import.Register", "12", None, (Decimal("12"), "Wh")),  # OCPP's default unit
    ("Energy.Reactive.Export.Register", "2", "kvarh", (Decimal("2000"), "varh")),
    ("Energy.Apparent.Import", "3", "kVAh", (Decimal("3000"), "VAh")),
    ("Power.Active.Import", "7.4", "kW", (Decimal("7400"), "W")),
    ("Power.Offered", "11000", "W", (Decimal("11000"), "W")),
    ("Current.Offered", "32", "A", (Decimal("32"), "A")),
    ("Voltage", "230.1", "V", (Decimal("230.1"), "V")),
    ("Frequency", "50.01", "Hz", (Decimal("50.01"), "Hz")),
    ("Temperature", "41", "Celcius", (Decimal("41"), "Celsius")),  # 1.6's spelling
    ("SoC", "80", "Percent", (Decimal("80"), "Percent")),
    ("SoC", "80", "%", (Decimal("80"), "Percent")),
])
def test_normalised(measurand, value, unit, expected):
    assert normalise(measurand, Decimal(value), unit) == expected


@pytest.mark.parametrize("measurand, value, unit", [
    ("Power.Active.Import", "1", "kWh"), ("Energy.Active.Import.Register", "1", "W"), ("Voltage", "1", "A"),
    ("Voltage", "1", "volts"), ("Nonsense", "1", "V"), ("", "1", "V"), ("Voltage", "1e30", "V"),
    ("Voltage", "abc", "V"), ("Voltage", "Infinity", "V"),
])
def test_refused(measurand, value, unit):
    with pytest.raises(UnitError):
        normalise(measurand, value, unit)
