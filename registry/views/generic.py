"""Generic list, detail and edit views (NetBox's habit): a concrete view supplies only its parts."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from core.forms import add_service_errors
from ledger.selectors import pending_submissions
from ledger.web import pending_redirect
from registry import access

PAGE_SIZE = 25


class RegistryView(LoginRequiredMixin, View):
    model = None
    selector = None  # staticmethod: (user=...) -> restricted queryset
    lookup_field = "code"

    def visible(self):
        return type(self).selector(user=self.request.user)

    def get_object(self, lookup: str):
        try:
            return self.visible().get(**{self.lookup_field: lookup})
        except self.model.DoesNotExist:
            raise Http404 from None


class ObjectListView(RegistryView):
    filterset_class = None
    template_name = ""

    def decorate(self, objects) -> list:
        """The page's objects, with whatever the list shows beside their fields."""
        return objects

    def get(self, request):
        filterset = self.filterset_class(request.GET or None, queryset=self.visible(), request=request)
        page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = self.decorate(page.object_list)
        return render(
            request,
            self.template_name,
            {
                "filter": filterset,
                "page_obj": page,
                "objects": page.object_list,
                "model_meta": self.model._meta,
                "can_add": access.may_add_kind(request.user, self.model),
                "pending": pending_submissions(user=request.user, type_prefix="registry."),
            },
        )


class ObjectDetailView(RegistryView):
    template_name = ""

    def extra_context(self, obj) -> dict:
        return {}

    def get(self, request, lookup: str):
        obj = self.get_object(lookup)
        return render(
            request,
            self.template_name,
            {
                "object": obj,
                "model_meta": self.model._meta,
                "private_visible": access.private_fields_visible(request.user, obj),
                "can_change": access.can(request.user, access.CHANGE, obj),
                **self.extra_context(obj),
            },
        )


class ObjectEditView(RegistryView):
    """Create (no lookup) or edit (lookup) through the model's services."""

    form_class = None
    template_name = "registry/object_edit.html"
    create_service = None  # staticmethod: (actor=..., **fields) -> obj
    update_service = None  # staticmethod: (actor=..., <update_kwarg>=obj, data=...) -> obj
    update_kwarg = ""

    def get_target(self, lookup):
        if lookup is None:
            if not access.may_add_kind(self.request.user, self.model):
                raise PermissionDenied
            return self.model()
        obj = self.get_object(lookup)
        if not access.can(self.request.user, access.CHANGE, obj):
            raise PermissionDenied
        return obj

    def render_form(self, form, obj):
        return render(
            self.request,
            self.template_name,
            {"form": form, "object": obj if obj.pk else None, "model_meta": self.model._meta},
        )

    def get(self, request, lookup: str | None = None):
        obj = self.get_target(lookup)
        # A link may preset fields of a new object, e.g. "add pile" on a station's page.
        initial = request.GET.dict() if obj.pk is None else None
        return self.render_form(self.form_class(instance=obj, user=request.user, initial=initial), obj)

    def post(self, request, lookup: str | None = None):
        obj = self.get_target(lookup)
        form = self.form_class(request.POST, instance=obj, user=request.user)
        if form.is_valid():
            try:
                if obj.pk is None:
                    submission = type(self).create_service(actor=request.user, **form.cleaned_data)
                    target = self.model(**{self.lookup_field: form.cleaned_data[self.lookup_field]})
                else:
                    # The form wrote the posted values into `obj`; the service compares them with
                    # the committed row.
                    current = self.get_object(lookup)
                    submission = type(self).update_service(
                        actor=request.user, **{self.update_kwarg: current}, data=form.service_data()
                    )
                    target = current
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if submission is None:
                    messages.info(request, _("Nothing changed."))
                    return redirect(target.get_absolute_url())
                messages.success(request, _("Sent to the consortium; it takes effect when its block commits."))
                return pending_redirect(request, submission, next_url=target.get_absolute_url())
        return self.render_form(form, obj)


class ChildAddView(RegistryView):
    """Adds something to a parent object (a connector or key to a pile) from a form on its page."""

    form_class = None
    template_name = "registry/child_add.html"
    title = ""

    def form_kwargs(self) -> dict:
        return {}

    def save(self, parent, form):
        raise NotImplementedError

    def get_parent(self, lookup):
        parent = self.get_object(lookup)
        if not access.can(self.request.user, access.CHANGE, parent):
            raise PermissionDenied
        return parent

    def render_form(self, parent, form):
        return render(self.request, self.template_name, {"form": form, "parent": parent, "title": self.title})

    def get(self, request, lookup: str):
        parent = self.get_parent(lookup)
        return self.render_form(parent, self.form_class(**self.form_kwargs()))

    def post(self, request, lookup: str):
        parent = self.get_parent(lookup)
        form = self.form_class(request.POST, **self.form_kwargs())
        if form.is_valid():
            try:
                submission = self.save(parent, form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Sent to the consortium; it takes effect when its block commits."))
                return pending_redirect(request, submission, next_url=parent.get_absolute_url())
        return self.render_form(parent, form)
