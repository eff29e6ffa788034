"""Bodies of the settlement API's writes. They check the shape of the input; the services
(settlement.services.billing) check authority and the rules, the contracts check again when the block commits."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from settlement.statements import Terms, TermsError
from settlement.tariffs import BANDS, TariffError, check_period

HHMM = r"^\d{2}:\d{2}$"
CODE_MAX = 32


class PeriodField(serializers.CharField):
    default_error_messages = {"period": _("Give a period as YYYY-MM.")}

    def __init__(self, **kwargs):
        super().__init__(max_length=7, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return check_period(value)
        except TariffError:
            self.fail("period")


class WindowInput(serializers.Serializer):
    to = serializers.RegexField(HHMM, help_text="HH:MM, local time; 24:00 ends the day")
    band = serializers.ChoiceField(choices=BANDS)

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared in the class body.
        fields = {"from": serializers.RegexField(HHMM, help_text="HH:MM, local time")}
        fields.update(super().get_fields())
        return fields


class TariffInput(serializers.Serializer):
    area = serializers.CharField(max_length=CODE_MAX)
    valid_from = serializers.DateField()
    windows = WindowInput(many=True, min_length=1, max_length=48,
                          help_text="covering the local day exactly once")
    prices = serializers.DictField(child=serializers.CharField(max_length=20),
                                   help_text="CNY/kWh per band used, decimal strings with at most 5 decimals")

    def validate(self, attrs):
        attrs["windows"] = [dict(w) for w in attrs["windows"]]
        return attrs


class ServiceFeeInput(serializers.Serializer):
    valid_from = serializers.DateField()
    per_kwh = serializers.CharField(max_length=20, help_text="CNY/kWh, a decimal string")


class AreaMeterInput(serializers.Serializer):
    area = serializers.CharField(max_length=CODE_MAX)
    period = PeriodField()
    energy_wh = serializers.IntegerField(min_value=0, max_value=10**15)


class TermsInput(serializers.Serializer):
    """Sealed on this node for the operator, the area's grid company and the regulator(s); the
    plaintext never reaches the ledger."""

    area = serializers.CharField(max_length=CODE_MAX)
    operator = serializers.CharField(max_length=CODE_MAX)
    valid_from = serializers.DateField()
    prices = serializers.DictField(child=serializers.DecimalField(max_digits=10, decimal_places=5, min_value=0),
                                   required=False, default=dict, help_text="negotiated CNY/kWh per band")
    discount_percent = serializers.DecimalField(max_digits=6, decimal_places=3, min_value=0, max_value=100,
                                                required=False, default=0)
    bank = serializers.DictField(child=serializers.CharField(max_length=300), required=False, default=dict)

    def validate_prices(self, value):
        unknown = sorted(set(value) - set(BANDS))
        if unknown:
            raise serializers.ValidationError(_("Unknown bands: %(bands)s.") % {"bands": ", ".join(unknown)})
        return value

    def validate(self, attrs):
        try:
            attrs["terms"] = Terms.from_plain({
                "prices": {band: format(price, "f") for band, price in attrs.pop("prices").items()},
                "discount_percent": format(attrs.pop("discount_percent"), "f"),
                "bank": attrs.pop("bank"),
            })
        except TermsError as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from exc
        attrs["operator"] = attrs["operator"].strip().upper()
        return attrs


class CloseInput(serializers.Serializer):
    area = serializers.CharField(max_length=CODE_MAX)
    period = PeriodField()


class CloseAreasInput(serializers.Serializer):
    period = PeriodField()


class ConfirmInput(serializers.Serializer):
    """No fields: the caller's node computes the statement hash it signs, from the terms it can open."""


class DisputeItemInput(serializers.Serializer):
    pile = serializers.CharField(max_length=64)
    band = serializers.CharField(max_length=16)
    reason = serializers.CharField(max_length=300)


class DisputeInput(serializers.Serializer):
    items = DisputeItemInput(many=True, min_length=1, max_length=1000)

    def validate_items(self, items):
        """Every disputed item must be one of the statement's (context["statement"])."""
        statement = self.context["statement"]
        known = set(statement.items.values_list("pile__code", "band"))
        missing = [f"{i['pile']} {i['band']}" for i in items if (i["pile"], i["band"]) not in known]
        if missing:
            raise serializers.ValidationError(
                _("The statement has no item %(items)s.") % {"items": ", ".join(missing)})
        return [dict(i) for i in items]


class CorrectInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ExportInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=["pdf", "csv"])
