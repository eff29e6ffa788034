"""The staff's record form: pile and box, the imported record or typed readings, the observations."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from calibration.limits.table import limits_for_pile_kind
from calibration.models import VerificationKind

OBSERVED = (("", _("not observed")), ("yes", _("yes")), ("no", _("no")))
CHECK_LABELS = {
    "nameplate_and_marks": _("Nameplate and marks"),
    "enclosure_and_cable": _("Enclosure and cable"),
    "display": _("Display"),
    "charging_interface": _("Charging interface"),
    "emergency_stop": _("Emergency stop"),
    "billing_function": _("Billing function"),
    "communication": _("Communication"),
}
MAX_KWH = Decimal("1000")
MAX_RECORD_BYTES = 256 * 1024


def visual_checks() -> tuple[str, ...]:
    return limits_for_pile_kind("ac").lookup("visual_functional", accuracy_class=1, verification="first").checks


def kwh_field(label):
    return forms.DecimalField(label=label, required=False, max_digits=10, decimal_places=6,
                              validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_KWH)],
                              help_text=_("kWh, up to 6 decimals (1 Wh = 0.001)"))


class DraftForm(forms.Form):
    pile = forms.CharField(label=_("Pile"), max_length=48,
                           help_text=_("The pile's code; search by code or address above."))
    test_box = forms.ChoiceField(label=_("Test box"))
    kind = forms.ChoiceField(label=_("Verification"), choices=VerificationKind.choices)
    time_of_use = forms.BooleanField(label=_("The pile bills by time of use (clock error is judged)"),
                                     required=False, initial=True)
    record_file = forms.FileField(label=_("Record file from the field agent"), required=False)
    insulation_mohm = forms.DecimalField(
        label=_("Insulation resistance (MΩ)"), required=False, max_digits=9, decimal_places=3,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100000"))])
    # Typed readings (preview only: they carry no box signature).
    load_points = forms.CharField(
        label=_("Load points (typed readings)"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One line per load point: standard energy kWh, indicated energy kWh, e.g. 1.000000, 1.010000"))
    indication_standard_kwh = kwh_field(_("Session energy by the standard (kWh)"))
    indication_displayed_kwh = kwh_field(_("Increase of the pile's display (kWh)"))
    billing_energy_kwh = kwh_field(_("Energy on the bill (kWh)"))
    tariff = forms.DecimalField(label=_("Tariff (CNY/kWh)"), required=False, max_digits=8, decimal_places=4,
                                validators=[MinValueValidator(Decimal("0"))])
    billed_cny = forms.DecimalField(label=_("Amount billed (CNY)"), required=False, max_digits=12, decimal_places=4,
                                    validators=[MinValueValidator(Decimal("0"))])
    clock_error_s = forms.DecimalField(label=_("Pile clock minus reference clock (s)"), required=False,
                                       max_digits=10, decimal_places=3,
                                       validators=[MinValueValidator(Decimal("-86400")),
                                                   MaxValueValidator(Decimal("86400"))])

    def __init__(self, *args, boxes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["test_box"].choices = [("", "—")] + [(b.serial, str(b)) for b in boxes]
        self.check_names = visual_checks()
        for name in self.check_names:
            self.fields[f"check_{name}"] = forms.ChoiceField(label=CHECK_LABELS.get(name, name), choices=OBSERVED,
                                                             required=False)

    def check_fields(self):
        return [self[f"check_{name}"] for name in self.check_names]

    def clean_record_file(self):
        upload = self.cleaned_data.get("record_file")
        if upload and upload.size > MAX_RECORD_BYTES:
            raise forms.ValidationError(_("The file is too large for a test box record."))
        return upload

    def clean_load_points(self):
        text = self.cleaned_data.get("load_points", "").strip()
        rows = []
        for number, line in enumerate(filter(None, (l.strip() for l in text.splitlines())), start=1):
            parts = [p.strip() for p in line.replace(";", ",").split(",")]
            if len(parts) != 2:
                raise forms.ValidationError(_("Line %(n)s: give two numbers, standard kWh and indicated kWh.")
                                            % {"n": number})
            values = []
            for part in parts:
                if part.lower().endswith(("mwh", "wh")) and not part.lower().endswith("kwh"):
                    raise forms.ValidationError(_("Line %(n)s: write energies in kWh.") % {"n": number})
                part = part.removesuffix("kWh").removesuffix("kwh").strip()
                try:
                    value = Decimal(part)
                except ArithmeticError:
                    raise forms.ValidationError(_("Line %(n)s: %(v)s is not a number.") % {"n": number, "v": part}) from None
                if not value.is_finite() or value < 0 or value > MAX_KWH or value.as_tuple().exponent < -6:
                    raise forms.ValidationError(
                        _("Line %(n)s: energies are from 0 to 1000 kWh with at most 6 decimals.") % {"n": number})
                values.append(value)
            if values[0] == 0:
                raise forms.ValidationError(_("Line %(n)s: the standard energy must be above zero.") % {"n": number})
            rows.append(tuple(values))
        if len(rows) > 8:
            raise forms.ValidationError(_("At most 8 load points."))
        return rows

    def observations(self) -> dict:
        d = self.cleaned_data
        checks = {name: d[f"check_{name}"] == "yes" for name in self.check_names if d.get(f"check_{name}")}
        insulation = d.get("insulation_mohm")
        return {"visual_checks": checks, "insulation_mohm": None if insulation is None else format(insulation, "f"),
                "time_of_use": bool(d.get("time_of_use"))}

    def typed_readings(self):
        """(load_points, indication, billing, clock_error_ms) if any reading was typed, else None."""
        d = self.cleaned_data
        typed = [d.get("load_points"), d.get("indication_standard_kwh"), d.get("indication_displayed_kwh"),
                 d.get("billing_energy_kwh"), d.get("tariff"), d.get("billed_cny"), d.get("clock_error_s")]
        if not any(v not in (None, "", []) for v in typed):
            return None
        missing = [self.fields[n].label for n in ("load_points", "indication_standard_kwh", "indication_displayed_kwh",
                                                 "billing_energy_kwh", "tariff", "billed_cny", "clock_error_s")
                   if d.get(n) in (None, "", [])]
        if missing:
            raise forms.ValidationError(_("Typed readings are incomplete: %(m)s.") % {"m": ", ".join(map(str, missing))})
        if d["indication_standard_kwh"] == 0:
            raise forms.ValidationError(_("The standard's session energy must be above zero."))
        return (d["load_points"], (d["indication_standard_kwh"], d["indication_displayed_kwh"]),
                (d["billing_energy_kwh"], d["tariff"], d["billed_cny"]), int(d["clock_error_s"] * 1000))
