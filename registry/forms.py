"""Web forms. They validate input; the services write (and validate again, authoritatively)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registry import access
from registry.selectors import station_private
from registry.models import (
    ConnectorStandard, FieldTestBox, GridArea, Institution, InstitutionRole, KeyKind, KeyPurpose, Pile, StaffRole,
    Station,
)


class DateInput(forms.DateInput):
    input_type = "date"


def owners_for(user, role: str):
    """Institutions the user may create entries for: their own if it has the role; all for admins."""
    institutions = Institution.objects.filter(role=role)
    if access.is_platform_admin(user):
        return institutions
    if access.is_manager(user):
        return institutions.filter(pk=user.institution_id)
    return institutions.none()


class RegistryModelForm(forms.ModelForm):
    """Identity fields (IMMUTABLE) are shown but locked when editing; the owner is preset."""

    IMMUTABLE: tuple[str, ...] = ()
    OWNER_FIELD: str | None = None
    OWNER_ROLE: str | None = None

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        editing = self.instance.pk is not None
        if self.OWNER_FIELD and self.OWNER_FIELD in self.fields:
            field = self.fields[self.OWNER_FIELD]
            field.queryset = owners_for(user, self.OWNER_ROLE) if not editing else Institution.objects.all()
            field.to_field_name = "code"
            if not editing and field.queryset.count() == 1:
                field.initial = field.queryset.get().code
        for name in self.IMMUTABLE:
            if editing and name in self.fields:
                self.fields[name].disabled = True
        if editing:
            # Related fields are addressed by public id (code), so their initial value must be the
            # object rather than its database pk.
            for name, field in self.fields.items():
                if isinstance(field, forms.ModelChoiceField):
                    self.initial[name] = getattr(self.instance, name)

    def service_data(self) -> dict:
        """The cleaned values a service may change (locked fields left out)."""
        return {name: value for name, value in self.cleaned_data.items() if not self.fields[name].disabled}


class GridAreaForm(RegistryModelForm):
    IMMUTABLE = ("owner", "code")
    OWNER_FIELD = "owner"
    OWNER_ROLE = InstitutionRole.GRID

    class Meta:
        model = GridArea
        fields = ["owner", "code", "name", "feeder_name", "transformer_name", "capacity_kw"]


class StationForm(RegistryModelForm):
    IMMUTABLE = ("operator", "code")
    OWNER_FIELD = "operator"
    OWNER_ROLE = InstitutionRole.OPERATOR

    # The private fields travel sealed (Station.private_sealed): the form shows them opened when this
    # node is one of their readers, and leaves them out when it is not (the service keeps the section).
    contact_name = forms.CharField(label=_("Contact name"), required=False,
                                   max_length=Station.PRIVATE_MAX_LENGTH["contact_name"])
    contact_phone = forms.CharField(label=_("Contact phone"), required=False,
                                    max_length=Station.PRIVATE_MAX_LENGTH["contact_phone"])
    notes = forms.CharField(label=_("Notes"), required=False, max_length=Station.PRIVATE_MAX_LENGTH["notes"],
                            widget=forms.Textarea(attrs={"rows": 3}), strip=False)

    class Meta:
        model = Station
        fields = ["operator", "code", "name", "address", "latitude", "longitude", "grid_area"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid_area"].to_field_name = "code"
        self.fields["grid_area"].queryset = GridArea.objects.restrict(self.user)
        if self.instance.pk is not None:
            opened = station_private(self.instance)
            for name in Station.PRIVATE_FIELDS:
                if opened is None:
                    del self.fields[name]
                else:
                    self.initial.setdefault(name, opened[name])


class PileForm(RegistryModelForm):
    IMMUTABLE = ("station", "code")

    class Meta:
        model = Pile
        fields = [
            "station", "code", "kind", "rated_power_kw", "accuracy_class", "commissioned_on", "status", "public",
            "vendor", "model_name", "serial_number", "firmware_version",
        ]
        widgets = {"commissioned_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        station = self.fields["station"]
        station.to_field_name = "code"
        # Only stations the user may add piles to; when editing, the locked current one.
        station.queryset = (
            Station.objects.all() if self.instance.pk else Station.objects.restrict(self.user, access.CHANGE)
        )


class FieldTestBoxForm(RegistryModelForm):
    IMMUTABLE = ("owner", "serial")
    OWNER_FIELD = "owner"
    OWNER_ROLE = InstitutionRole.METROLOGY

    class Meta:
        model = FieldTestBox
        fields = [
            "owner", "serial", "model_name", "manufacturer", "certificate_no", "certificate_expires_on", "status",
        ]
        widgets = {"certificate_expires_on": DateInput()}


class ConnectorForm(forms.Form):
    connector_id = forms.IntegerField(label=_("Connector id (OCPP 1.6)"), min_value=1)
    evse_id = forms.IntegerField(
        label=_("EVSE id (OCPP 2.0.1)"), min_value=1, required=False, help_text=_("Defaults to the connector id.")
    )
    evse_connector_id = forms.IntegerField(label=_("Connector id on the EVSE"), min_value=1, initial=1)
    standard = forms.ChoiceField(label=_("Standard"), choices=ConnectorStandard.choices)
    max_power_kw = forms.DecimalField(
        label=_("Max power (kW)"), max_digits=7, decimal_places=1, min_value=0.1, required=False
    )


class DeviceKeyForm(forms.Form):
    public_key = forms.CharField(
        label=_("Public key"),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("PEM, or the raw public key in hex (then choose its kind)."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("From the PEM"))] + KeyKind.choices, required=False)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=KeyPurpose.choices, initial=KeyPurpose.DEVICE)
    label = forms.CharField(label=_("Label"), max_length=100, required=False)

    def __init__(self, *args, for_test_box: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if for_test_box:
            self.fields["purpose"].choices = [(KeyPurpose.DEVICE, KeyPurpose.DEVICE.label)]


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Who uses it, e.g. “Map provider”."))
    staff_role = forms.ChoiceField(
        label=_("Rights"),
        choices=[(StaffRole.VIEWER, _("Read only")), (StaffRole.MANAGER, _("Read and write (manager)"))],
        initial=StaffRole.VIEWER,
    )
