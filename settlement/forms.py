"""Forms of the settlement pages: closing a period, disputing and correcting a statement, and what grid
companies and operators publish (tariffs, area meter readings, sealed terms, fees)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from settlement.tariffs import BANDS, TariffError, build_tariff


class CloseForm(forms.Form):
    period = forms.RegexField(label=_("Period (YYYY-MM)"), regex=r"^\d{4}-\d{2}$")


class DisputeForm(forms.Form):
    item = forms.ChoiceField(label=_("Item"))
    reason = forms.CharField(label=_("Reason"), max_length=300)


class CorrectForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the correction"), max_length=300)


WINDOW_LINE = re.compile(r"^\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s+(\w+)\s*$")


class TariffForm(forms.Form):
    area = forms.ChoiceField(label=_("Grid area"))
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    windows = forms.CharField(label=_("Windows, one a line: HH:MM-HH:MM band"), widget=forms.Textarea(attrs={"rows": 6}),
                              initial="00:00-08:00 valley\n08:00-10:00 flat\n10:00-15:00 peak\n15:00-18:00 flat\n"
                                      "18:00-21:00 peak\n21:00-24:00 flat")
    peak = forms.DecimalField(label=_("Peak price (CNY/kWh)"), min_value=0, decimal_places=5, required=False)
    flat = forms.DecimalField(label=_("Flat price (CNY/kWh)"), min_value=0, decimal_places=5, required=False)
    valley = forms.DecimalField(label=_("Valley price (CNY/kWh)"), min_value=0, decimal_places=5, required=False)

    def clean(self):
        data = super().clean()
        windows = []
        for line in (data.get("windows") or "").splitlines():
            if not line.strip():
                continue
            match = WINDOW_LINE.match(line)
            if not match:
                raise forms.ValidationError(_("Write each window as HH:MM-HH:MM band."))
            windows.append({"from": match.group(1), "to": match.group(2), "band": match.group(3)})
        prices = {b: format(data[b], "f") for b in BANDS if data.get(b) is not None and b in {w["band"] for w in windows}}
        if "valid_from" in data:
            try:
                build_tariff(valid_from=data["valid_from"], windows=windows, prices=prices)
            except TariffError as exc:
                raise forms.ValidationError(str(exc)) from exc
        data["windows_list"], data["prices"] = windows, prices
        return data


class AreaMeterForm(forms.Form):
    area = forms.ChoiceField(label=_("Grid area"))
    period = forms.RegexField(label=_("Period (YYYY-MM)"), regex=r"^\d{4}-\d{2}$")
    energy_wh = forms.IntegerField(label=_("Area meter (Wh)"), min_value=0)


class TermsForm(forms.Form):
    area = forms.ChoiceField(label=_("Grid area"))
    operator = forms.CharField(label=_("Operator code"), max_length=32)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    peak = forms.DecimalField(label=_("Negotiated peak price (CNY/kWh)"), min_value=0, decimal_places=5, required=False)
    flat = forms.DecimalField(label=_("Negotiated flat price (CNY/kWh)"), min_value=0, decimal_places=5, required=False)
    valley = forms.DecimalField(label=_("Negotiated valley price (CNY/kWh)"), min_value=0, decimal_places=5,
                                required=False)
    discount_percent = forms.DecimalField(label=_("Discount (%)"), min_value=0, max_value=100, decimal_places=3,
                                          required=False)
    bank = forms.CharField(label=_("Bank details"), max_length=300, required=False)
