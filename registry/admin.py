"""The registry in Django's admin: restricted like every other view, and saving through the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from ledger.chain import crypto
from registry import access, services
from registry.forms import owners_for
from registry.models import (
    ApiToken, Connector, DeviceKey, FieldTestBox, GridArea, Institution, InstitutionRole, KeyKind, KeyStatus, Pile,
    StaffRole, Station, User,
)
from registry.models.keys import fingerprint_of


def _is_member(user) -> bool:
    return access.is_platform_admin(user) or access.member_institution(user) is not None


class RestrictedAdmin(admin.ModelAdmin):
    """Querysets and permissions from registry.access; adds and edits through the model's services."""

    create_service = None
    update_service = None
    update_kwarg = ""
    IMMUTABLE: tuple[str, ...] = ()
    # Foreign keys whose choices are the institutions of a role the user may create entries for.
    OWNER_FIELDS: dict[str, str] = {}

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user, access.VIEW)

    def has_module_permission(self, request):
        return _is_member(request.user)

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return _is_member(request.user)
        return access.can(request.user, access.VIEW, obj)

    def has_change_permission(self, request, obj=None):
        if self.update_service is None and obj is not None:
            return False
        if obj is None:
            return access.is_platform_admin(request.user) or access.is_manager(request.user)
        return access.can(request.user, access.CHANGE, obj)

    def has_add_permission(self, request):
        return self.create_service is not None and access.may_add_kind(request.user, self.model)

    def has_delete_permission(self, request, obj=None):
        # Registry entries are retired or revoked, never deleted: the ledger keeps their history.
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.IMMUTABLE if obj is not None else ()

    def get_exclude(self, request, obj=None):
        private = getattr(self.model, "PRIVATE_FIELDS", ())
        if obj is not None and private and not access.private_fields_visible(request.user, obj):
            return private
        return super().get_exclude(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.OWNER_FIELDS:
            kwargs["queryset"] = owners_for(request.user, self.OWNER_FIELDS[db_field.name])
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_kwargs(self, form) -> dict:
        return dict(form.cleaned_data)

    def save_model(self, request, obj, form, change):
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data if name not in self.IMMUTABLE}
            saved = type(self).update_service(actor=request.user, **{self.update_kwarg: obj}, data=data)
        else:
            saved = type(self).create_service(actor=request.user, **self.service_kwargs(form))
        # The admin goes on with `obj` (log entry, redirect): make it the saved row.
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = saved._state.db


@admin.register(Institution)
class InstitutionAdmin(RestrictedAdmin):
    list_display = ["code", "name", "role"]
    list_filter = ["role"]
    search_fields = ["code", "name"]
    create_service = staticmethod(services.institution_create)
    IMMUTABLE = ("code", "role")

    def has_change_permission(self, request, obj=None):
        return access.is_platform_admin(request.user)

    def save_model(self, request, obj, form, change):
        if change:  # only the name may change; platform admins only (has_change_permission)
            obj.save(update_fields=["name"])
        else:
            super().save_model(request, obj, form, change)

    def service_kwargs(self, form):
        return {k: form.cleaned_data[k] for k in ("code", "name", "role")}


@admin.register(GridArea)
class GridAreaAdmin(RestrictedAdmin):
    list_display = ["code", "name", "owner", "feeder_name", "transformer_name", "capacity_kw"]
    list_filter = ["owner"]
    search_fields = ["code", "name"]
    create_service = staticmethod(services.grid_area_create)
    update_service = staticmethod(services.grid_area_update)
    update_kwarg = "grid_area"
    IMMUTABLE = ("owner", "code")
    OWNER_FIELDS = {"owner": InstitutionRole.GRID}


@admin.register(Station)
class StationAdmin(RestrictedAdmin):
    list_display = ["code", "name", "operator", "grid_area", "address"]
    list_filter = ["operator", "grid_area"]
    search_fields = ["code", "name", "address"]
    create_service = staticmethod(services.station_create)
    update_service = staticmethod(services.station_update)
    update_kwarg = "station"
    IMMUTABLE = ("operator", "code")
    OWNER_FIELDS = {"operator": InstitutionRole.OPERATOR}


class ConnectorInline(admin.TabularInline):
    model = Connector
    fields = ["connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # connectors are added through the Connector admin (a service call)


@admin.register(Pile)
class PileAdmin(RestrictedAdmin):
    list_display = ["code", "station", "kind", "rated_power_kw", "accuracy_class", "status"]
    list_filter = ["kind", "status", "accuracy_class", "station__operator"]
    search_fields = ["code", "station__code", "station__name"]
    inlines = [ConnectorInline]
    create_service = staticmethod(services.pile_register)
    update_service = staticmethod(services.pile_update)
    update_kwarg = "pile"
    IMMUTABLE = ("station", "code")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "station":
            kwargs["queryset"] = Station.objects.restrict(request.user, access.CHANGE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Connector)
class ConnectorAdmin(RestrictedAdmin):
    list_display = ["pile", "connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw"]
    list_filter = ["standard"]
    search_fields = ["pile__code"]
    fields = ["pile", "connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw"]
    create_service = staticmethod(services.connector_add)

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "pile":
            kwargs["queryset"] = Pile.objects.restrict(request.user, access.CHANGE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(FieldTestBox)
class FieldTestBoxAdmin(RestrictedAdmin):
    list_display = ["serial", "owner", "model_name", "certificate_no", "certificate_expires_on", "status"]
    list_filter = ["owner", "status"]
    search_fields = ["serial", "model_name", "certificate_no"]
    create_service = staticmethod(services.testbox_register)
    update_service = staticmethod(services.testbox_update)
    update_kwarg = "test_box"
    IMMUTABLE = ("owner", "serial")
    OWNER_FIELDS = {"owner": InstitutionRole.METROLOGY}


class DeviceKeyAdminForm(forms.ModelForm):
    public_key = forms.CharField(
        label=_("Public key"), widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("PEM, or the raw public key in hex (then choose its kind)."),
    )
    key_kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("From the PEM"))] + KeyKind.choices, required=False
    )

    class Meta:
        model = DeviceKey
        fields = ["pile", "test_box", "purpose", "label"]

    def clean(self):
        cleaned = super().clean()
        try:
            key = crypto.PublicKey.parse(cleaned.get("key_kind") or None, cleaned.get("public_key") or "")
        except crypto.InvalidKey as exc:
            self.add_error("public_key", str(exc))
            return cleaned
        # Lets the model's own validation (run next by the ModelForm) see a complete key.
        self.instance.kind = key.kind
        self.instance.public_key_hex = key.hex
        self.instance.fingerprint = fingerprint_of(key.raw)
        return cleaned


@admin.register(DeviceKey)
class DeviceKeyAdmin(RestrictedAdmin):
    list_display = ["fingerprint", "pile", "test_box", "kind", "purpose", "status"]
    list_filter = ["kind", "purpose", "status"]
    search_fields = ["fingerprint", "pile__code", "test_box__serial", "label"]
    create_service = staticmethod(services.device_key_add)
    actions = ["revoke"]
    add_form = DeviceKeyAdminForm
    change_fields = [
        "fingerprint", "pile", "test_box", "kind", "purpose", "public_key_hex", "label", "status", "revoked_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["pile", "test_box", "purpose", "public_key", "key_kind", "label"]
        return self.change_fields

    def get_readonly_fields(self, request, obj=None):
        return self.change_fields if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "pile":
            kwargs["queryset"] = Pile.objects.restrict(request.user, access.CHANGE)
        if db_field.name == "test_box":
            kwargs["queryset"] = FieldTestBox.objects.restrict(request.user, access.CHANGE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_kwargs(self, form):
        data = form.cleaned_data
        return {
            "pile": data.get("pile"), "test_box": data.get("test_box"), "purpose": data["purpose"],
            "label": data.get("label", ""), "public_key": data["public_key"], "kind": data.get("key_kind") or None,
        }

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        revoked = 0
        for device_key in queryset.restrict(request.user, access.CHANGE).filter(status=KeyStatus.ACTIVE):
            services.device_key_revoke(actor=request.user, device_key=device_key)
            revoked += 1
        messages.info(request, _("%(n)d keys revoked.") % {"n": revoked})


class RegistryUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "institution", "staff_role")


@admin.register(User)
class UserAdmin(RestrictedAdmin, DjangoUserAdmin):
    list_display = ["username", "institution", "staff_role", "is_active", "is_staff", "is_superuser"]
    list_filter = ["institution", "staff_role", "is_active", "is_superuser"]
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Consortium"), {"fields": ("institution", "staff_role")}),)
    add_form = RegistryUserCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "institution", "staff_role", "password1", "password2")}),
    )
    create_service = staticmethod(services.user_create)

    def has_change_permission(self, request, obj=None):
        # Editing accounts can grant superuser or staff flags: platform administrators only.
        return access.is_platform_admin(request.user)

    def get_readonly_fields(self, request, obj=None):
        return ()

    def get_exclude(self, request, obj=None):
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "institution" and not access.is_platform_admin(request.user):
            kwargs["queryset"] = Institution.objects.filter(pk=getattr(request.user, "institution_id", None))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()  # platform administrators only; accounts are node-local, not on the ledger
            return
        data = form.cleaned_data
        saved = services.user_create(
            actor=request.user, username=data["username"], institution=data.get("institution"),
            staff_role=data.get("staff_role") or StaffRole.VIEWER, password=data.get("password1"),
        )
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        obj._state.adding = False


class ApiTokenAdminForm(forms.ModelForm):
    staff_role = forms.ChoiceField(label=_("Rights"), choices=StaffRole.choices, initial=StaffRole.VIEWER)

    class Meta:
        model = ApiToken
        fields = ["institution", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(RestrictedAdmin):
    list_display = ["prefix", "name", "institution", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["institution"]
    search_fields = ["prefix", "name"]
    actions = ["revoke"]
    readonly = ["prefix", "name", "institution", "user", "created_by", "created_at", "last_used_at", "revoked_at"]
    create_service = staticmethod(services.api_token_create)

    def has_add_permission(self, request):
        return access.is_platform_admin(request.user) or access.is_manager(request.user)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["institution", "name", "staff_role"] if obj is None else self.readonly

    def get_readonly_fields(self, request, obj=None):
        return self.readonly if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "institution" and not access.is_platform_admin(request.user):
            kwargs["queryset"] = Institution.objects.filter(pk=getattr(request.user, "institution_id", None))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        token, key = services.api_token_create(
            actor=request.user, name=data["name"], institution=data["institution"], staff_role=data["staff_role"]
        )
        obj.__dict__.update({k: v for k, v in token.__dict__.items() if k != "_state"})
        obj._state.adding = False
        messages.warning(request, _("The new token's key, shown only this once: %(key)s") % {"key": key})

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset.restrict(request.user, access.CHANGE).filter(revoked_at__isnull=True):
            services.api_token_revoke(actor=request.user, token=token)
