"""Maintenance work orders: ledger-owned, every step a committed transaction."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from monitoring.models.faults import Fault, Severity
from registry.access import PileData, RestrictedQuerySet
from registry.models import Institution, Pile


class WorkOrderState(models.TextChoices):
    OPENED = "opened", _("Opened")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    VERIFIED = "verified", _("Verified")
    CLOSED = "closed", _("Closed")


@ledger.state.rows.register
class WorkOrder(models.Model):
    LEDGER_FIELDS = (
        "pile", "fault", "operator", "state", "severity", "title", "assignee", "opened_at", "due_at",
        "opened_height", "height",
    )

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+")
    fault = models.OneToOneField(
        Fault, verbose_name=_("fault"), on_delete=models.PROTECT, null=True, blank=True, related_name="work_order"
    )
    operator = models.ForeignKey(Institution, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=16, choices=WorkOrderState.choices)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    title = models.CharField(_("title"), max_length=200)
    assignee = models.CharField(_("assignee"), max_length=150, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due at"))
    opened_height = models.BigIntegerField(_("opened at height"))
    height = models.BigIntegerField(_("last change at height"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["due_at", "uid"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")

    def __str__(self) -> str:
        return f"{self.pile.code}: {self.title}"

    @property
    def public_id(self) -> str:
        return str(self.uid)

    @property
    def short_id(self) -> str:
        return str(self.uid)[:8]

    def get_absolute_url(self) -> str:
        return reverse("monitoring:workorder_detail", args=[self.uid])

    def is_overdue(self, now) -> bool:
        return self.state not in (WorkOrderState.RESOLVED, WorkOrderState.VERIFIED, WorkOrderState.CLOSED) and now > self.due_at


@ledger.state.rows.register
class WorkOrderStep(models.Model):
    LEDGER_FIELDS = ("work_order", "state", "actor", "institution", "note", "at", "height")

    uid = models.UUIDField(unique=True, editable=False)
    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="steps")
    state = models.CharField(_("state"), max_length=16, choices=WorkOrderState.choices)
    actor = models.CharField(_("by"), max_length=150, blank=True)
    institution = models.CharField(_("institution"), max_length=32)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    at = models.DateTimeField(_("at"))
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(max_length=64)

    class Meta:
        ordering = ["height", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)
