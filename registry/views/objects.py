"""The registry's pages: stations, piles (with connectors and keys), test boxes, grid areas."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.forms import service_error_text
from ledger.web import pending_redirect
from registry import access, filtersets, forms, pile_states, selectors, services
from registry.models import FieldTestBox, GridArea, Pile, Station
from registry.views.generic import ChildAddView, ObjectDetailView, ObjectEditView, ObjectListView


# --- grid areas ---------------------------------------------------------------------------------
class GridAreaMixin:
    model = GridArea
    selector = staticmethod(selectors.grid_area_list)


class GridAreaListView(GridAreaMixin, ObjectListView):
    filterset_class = filtersets.GridAreaFilterSet
    template_name = "registry/gridarea_list.html"


class GridAreaDetailView(GridAreaMixin, ObjectDetailView):
    template_name = "registry/gridarea_detail.html"

    def extra_context(self, obj):
        return {"stations": selectors.station_list(user=self.request.user).filter(grid_area=obj)}


class GridAreaEditView(GridAreaMixin, ObjectEditView):
    form_class = forms.GridAreaForm
    create_service = staticmethod(services.grid_area_create)
    update_service = staticmethod(services.grid_area_update)
    update_kwarg = "grid_area"


# --- stations -----------------------------------------------------------------------------------
class StationMixin:
    model = Station
    selector = staticmethod(selectors.station_list)


class StationListView(StationMixin, ObjectListView):
    filterset_class = filtersets.StationFilterSet
    template_name = "registry/station_list.html"


class StationDetailView(StationMixin, ObjectDetailView):
    template_name = "registry/station_detail.html"

    def extra_context(self, obj):
        user = self.request.user
        visible, private = selectors.station_private_for(user, obj)
        return {"piles": pile_states.attach(user=user, piles=selectors.pile_list(user=user).filter(station=obj)),
                "private": private if visible else None}


class StationEditView(StationMixin, ObjectEditView):
    form_class = forms.StationForm
    create_service = staticmethod(services.station_create)
    update_service = staticmethod(services.station_update)
    update_kwarg = "station"


# --- piles --------------------------------------------------------------------------------------
class PileMixin:
    model = Pile
    selector = staticmethod(selectors.pile_list)


class PileListView(PileMixin, ObjectListView):
    filterset_class = filtersets.PileFilterSet
    template_name = "registry/pile_list.html"

    def decorate(self, objects):
        return pile_states.attach(user=self.request.user, piles=objects)


class PileDetailView(PileMixin, ObjectDetailView):
    template_name = "registry/pile_detail.html"

    def extra_context(self, obj):
        user = self.request.user
        can_change = access.can(user, access.CHANGE, obj)
        return {
            "connectors": selectors.connector_list(user=user).filter(pile=obj),
            "keys": selectors.device_key_list(user=user).filter(pile=obj),
            "connector_form": forms.ConnectorForm() if can_change else None,
            "key_form": forms.DeviceKeyForm() if can_change else None,
            "attestations": selectors.firmware_attestations(user=user, pile=obj)[:10],
            "operational_state": pile_states.states(user=user, piles=[obj]).get(obj.pk),
        }


class PileEditView(PileMixin, ObjectEditView):
    form_class = forms.PileForm
    create_service = staticmethod(services.pile_register)
    update_service = staticmethod(services.pile_update)
    update_kwarg = "pile"


class PileConnectorAddView(PileMixin, ChildAddView):
    form_class = forms.ConnectorForm
    title = _("Add a connector")

    def save(self, parent, form):
        return services.connector_add(actor=self.request.user, pile=parent, **form.cleaned_data)


class PileKeyAddView(PileMixin, ChildAddView):
    form_class = forms.DeviceKeyForm
    title = _("Add a key")

    def save(self, parent, form):
        return services.device_key_add(actor=self.request.user, pile=parent, **form.cleaned_data)


# --- field test boxes ---------------------------------------------------------------------------
class TestBoxMixin:
    model = FieldTestBox
    selector = staticmethod(selectors.testbox_list)
    lookup_field = "serial"


class TestBoxListView(TestBoxMixin, ObjectListView):
    filterset_class = filtersets.FieldTestBoxFilterSet
    template_name = "registry/testbox_list.html"


class TestBoxDetailView(TestBoxMixin, ObjectDetailView):
    template_name = "registry/testbox_detail.html"

    def extra_context(self, obj):
        can_change = access.can(self.request.user, access.CHANGE, obj)
        return {
            "keys": selectors.device_key_list(user=self.request.user).filter(test_box=obj),
            "key_form": forms.DeviceKeyForm(for_test_box=True) if can_change else None,
        }


class TestBoxEditView(TestBoxMixin, ObjectEditView):
    form_class = forms.FieldTestBoxForm
    create_service = staticmethod(services.testbox_register)
    update_service = staticmethod(services.testbox_update)
    update_kwarg = "test_box"


class TestBoxKeyAddView(TestBoxMixin, ChildAddView):
    form_class = forms.DeviceKeyForm
    title = _("Add a key")

    def form_kwargs(self):
        return {"for_test_box": True}

    def save(self, parent, form):
        return services.device_key_add(actor=self.request.user, test_box=parent, **form.cleaned_data)


# --- device keys --------------------------------------------------------------------------------
@login_required
@require_POST
def device_key_revoke(request, fingerprint: str):
    device_key = selectors.device_key_list(user=request.user).filter(fingerprint=fingerprint).first()
    if device_key is None:
        raise Http404
    if not access.can(request.user, access.CHANGE, device_key):
        raise PermissionDenied
    try:
        submission = services.device_key_revoke(actor=request.user, device_key=device_key)
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
        return redirect(device_key.get_absolute_url())
    messages.success(request, _("Revocation sent; the key stops signing when its block commits."))
    return pending_redirect(request, submission, next_url=device_key.get_absolute_url())
