"""The registry in Django's admin: restricted like every other view, and saving through the services."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from registry import access, services
from registry.forms import owners_for
from registry.selectors import station_private
from registry.models import (
    ApiToken, Connector, DeviceKey, FieldTestBox, GridArea, Institution, KeyStatus, Pile, SecurityEvent, StaffRole,
    Station, User,
)


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


class LedgerRecordAdmin(RestrictedAdmin):
    """Rows that only the ledger's contracts write: the admin shows them, the registry's pages (which
    send transactions) change them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Institution)
class InstitutionAdmin(LedgerRecordAdmin):
    """Members come from the consortium definition every node holds, not from this admin."""

    list_display = ["code", "name", "role"]
    list_filter = ["role"]
    search_fields = ["code", "name"]


@admin.register(GridArea)
class GridAreaAdmin(LedgerRecordAdmin):
    list_display = ["code", "name", "owner", "feeder_name", "transformer_name", "capacity_kw", "height"]
    list_filter = ["owner"]
    search_fields = ["code", "name"]


@admin.register(Station)
class StationAdmin(LedgerRecordAdmin):
    list_display = ["code", "name", "operator", "grid_area", "address", "height"]
    list_filter = ["operator", "grid_area"]
    search_fields = ["code", "name", "address"]

    def get_exclude(self, request, obj=None):
        return ("private_sealed",)  # sealed text: shown opened below, to those who may see it

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *Station.PRIVATE_FIELDS)

    def get_fields(self, request, obj=None):
        fields = [name for name in super().get_fields(request, obj) if name not in Station.PRIVATE_FIELDS]
        if obj is not None and access.private_fields_visible(request.user, obj):
            fields += Station.PRIVATE_FIELDS
        return fields

    def _private(self, obj, name):
        opened = station_private(obj)
        return _("(sealed; this node cannot open it)") if opened is None else opened[name]

    @admin.display(description=_("contact name"))
    def contact_name(self, obj):
        return self._private(obj, "contact_name")

    @admin.display(description=_("contact phone"))
    def contact_phone(self, obj):
        return self._private(obj, "contact_phone")

    @admin.display(description=_("notes"))
    def notes(self, obj):
        return self._private(obj, "notes")


class ConnectorInline(admin.TabularInline):
    model = Connector
    fields = ["connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw", "height"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Pile)
class PileAdmin(LedgerRecordAdmin):
    list_display = ["code", "station", "kind", "rated_power_kw", "accuracy_class", "status", "public", "height"]
    list_filter = ["kind", "status", "public", "accuracy_class", "station__operator"]
    search_fields = ["code", "station__code", "station__name"]
    inlines = [ConnectorInline]


@admin.register(Connector)
class ConnectorAdmin(LedgerRecordAdmin):
    list_display = ["pile", "connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw", "height"]
    list_filter = ["standard"]
    search_fields = ["pile__code"]


@admin.register(FieldTestBox)
class FieldTestBoxAdmin(LedgerRecordAdmin):
    list_display = ["serial", "owner", "model_name", "certificate_no", "certificate_expires_on", "status", "height"]
    list_filter = ["owner", "status"]
    search_fields = ["serial", "model_name", "certificate_no"]


@admin.register(DeviceKey)
class DeviceKeyAdmin(LedgerRecordAdmin):
    list_display = ["fingerprint", "pile", "test_box", "kind", "purpose", "status", "added_height", "revoked_height"]
    list_filter = ["kind", "purpose", "status"]
    search_fields = ["fingerprint", "pile__code", "test_box__serial", "label"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        sent = 0
        for device_key in queryset.restrict(request.user, access.CHANGE).filter(status=KeyStatus.ACTIVE):
            services.device_key_revoke(actor=request.user, device_key=device_key)
            sent += 1
        messages.info(request, _("%(n)d revocations sent; each takes effect when its block commits.") % {"n": sent})


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


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """The security log: platform administrators read, filter, search and export it; nobody edits it."""

    list_display = ["at", "kind", "username", "institution", "client", "method", "path", "detail"]
    list_filter = ["kind", "institution", ("at", admin.DateFieldListFilter)]
    search_fields = ["username", "client", "path", "detail"]
    date_hierarchy = "at"
    actions = ["export_csv"]

    def has_module_permission(self, request):
        return access.is_platform_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_platform_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Export the selected events as CSV"))
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="security-log.csv"'
        writer = csv.writer(response)
        writer.writerow(["time", "event", "account", "institution", "client", "method", "path", "detail"])
        for event in queryset.order_by("at", "id"):
            writer.writerow([_cell(value) for value in (event.at.isoformat(), event.kind, event.username,
                                                        event.institution, event.client, event.method, event.path,
                                                        event.detail)])
        return response


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: what a visitor typed (an account name, a path) could
    otherwise start a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
