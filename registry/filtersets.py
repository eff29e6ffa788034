"""One FilterSet per model, shared by the list pages and the API (NetBox's habit)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry import pile_states
from registry.models import (
    Connector, DeviceKey, FieldTestBox, GridArea, Institution, InstitutionRole, Pile, Station,
)


def _institutions(role: str):
    """Choices for an institution filter, restricted to what the requesting user may see."""

    def queryset(request):
        user = getattr(request, "user", None)
        return Institution.objects.restrict(user).filter(role=role)

    return queryset


def _visible(model):
    def queryset(request):
        return model.objects.restrict(getattr(request, "user", None))

    return queryset


class YesNoField(forms.NullBooleanField):
    """`true`, `false` or nothing (no filter). Anything else is an error, not a silently ignored
    filter: a caller asking for `?public=yes` must not get every pile back as if it were an answer."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.Select(choices=[("", "---------"), ("true", _("Yes")), ("false", _("No"))]))
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class YesNoFilter(django_filters.BooleanFilter):
    field_class = YesNoField


class SearchFilterSet(django_filters.FilterSet):
    """Adds `q`, a case-insensitive search over `search_fields`."""

    search_fields: tuple[str, ...] = ()

    q = django_filters.CharFilter(method="search", label=_("Search"))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return queryset.filter(query)


class InstitutionFilterSet(SearchFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = Institution
        fields = ["role"]


class GridAreaFilterSet(SearchFilterSet):
    search_fields = ("code", "name", "feeder_name", "transformer_name")
    owner = django_filters.ModelChoiceFilter(
        queryset=_institutions(InstitutionRole.GRID), to_field_name="code", label=_("Grid company")
    )

    class Meta:
        model = GridArea
        fields = ["owner"]


class StationFilterSet(SearchFilterSet):
    search_fields = ("code", "name", "address")
    operator = django_filters.ModelChoiceFilter(
        queryset=_institutions(InstitutionRole.OPERATOR), to_field_name="code", label=_("Operator")
    )
    grid_area = django_filters.ModelChoiceFilter(
        queryset=_visible(GridArea), to_field_name="code", label=_("Grid area")
    )

    class Meta:
        model = Station
        fields = ["operator", "grid_area"]


class PileFilterSet(SearchFilterSet):
    search_fields = ("code", "station__code", "station__name", "station__address")
    operator = django_filters.ModelChoiceFilter(
        field_name="station__operator",
        queryset=_institutions(InstitutionRole.OPERATOR),
        to_field_name="code",
        label=_("Operator"),
    )
    grid_area = django_filters.ModelChoiceFilter(
        field_name="station__grid_area", queryset=_visible(GridArea), to_field_name="code", label=_("Grid area")
    )
    grid_company = django_filters.ModelChoiceFilter(
        field_name="station__grid_area__owner", queryset=_institutions(InstitutionRole.GRID), to_field_name="code",
        label=_("Grid company"), help_text=_("The piles in the grid areas of this grid company."),
    )
    station = django_filters.ModelChoiceFilter(queryset=_visible(Station), to_field_name="code", label=_("Station"))
    public = YesNoFilter(label=_("Public"), help_text=_("Open to any driver (true) or dedicated (false)."))
    operational_state = django_filters.MultipleChoiceFilter(
        choices=pile_states.Choices(), method="in_operational_state", label=_("Operational state"),
        help_text=_("The state the registry status, live state, open faults and calibration make (one or more)."),
    )

    class Meta:
        model = Pile
        fields = ["operator", "grid_area", "grid_company", "station", "kind", "status", "accuracy_class", "public"]

    def in_operational_state(self, queryset, name, value):
        return pile_states.filter_piles(queryset, user=getattr(self.request, "user", None), values=list(value))


class ConnectorFilterSet(SearchFilterSet):
    search_fields = ("pile__code",)
    pile = django_filters.ModelChoiceFilter(queryset=_visible(Pile), to_field_name="code", label=_("Pile"))

    class Meta:
        model = Connector
        fields = ["pile", "standard"]


class FieldTestBoxFilterSet(SearchFilterSet):
    search_fields = ("serial", "model_name", "manufacturer", "certificate_no")
    owner = django_filters.ModelChoiceFilter(
        queryset=_institutions(InstitutionRole.METROLOGY), to_field_name="code", label=_("Metrology institute")
    )
    certificate_expires_before = django_filters.DateFilter(
        field_name="certificate_expires_on", lookup_expr="lt", label=_("Certificate expires before")
    )

    class Meta:
        model = FieldTestBox
        fields = ["owner", "status"]


class DeviceKeyFilterSet(SearchFilterSet):
    search_fields = ("fingerprint", "label", "pile__code", "test_box__serial")
    pile = django_filters.ModelChoiceFilter(queryset=_visible(Pile), to_field_name="code", label=_("Pile"))
    test_box = django_filters.ModelChoiceFilter(
        queryset=_visible(FieldTestBox), to_field_name="serial", label=_("Test box")
    )

    class Meta:
        model = DeviceKey
        fields = ["pile", "test_box", "kind", "purpose", "status"]
