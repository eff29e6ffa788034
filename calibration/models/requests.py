"""Verification requests: a pile that needs a metrology institute's visit, addressed to all of them."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.state import rows
from registry.access import PileData, RestrictedQuerySet


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class RequestReason(models.TextChoices):
    METERING_FAULT = "metering_fault", _("Metering fault")
    DUE_SOON = "due_soon", _("Verification coming due")
    OVERDUE = "overdue", _("Verification overdue")
    REQUESTED = "requested", _("Requested by a member")


@rows.register
class VerificationRequest(models.Model):
    """Opened by a contract (a metering fault, a due date); closed by the next verification record filed
    for the pile. At most one request per pile is open: raising again counts on the open one."""

    LEDGER_FIELDS = (
        "pile", "reason", "source", "reference", "addressed_to", "status", "opened_by", "opened_height",
        "opened_at", "raised_count", "last_raised_height", "closed_height", "closed_by_record",
    )

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey("registry.Pile", verbose_name=_("pile"), on_delete=models.PROTECT,
                             related_name="verification_requests")
    reason = models.CharField(_("reason"), max_length=32)
    source = models.CharField(_("source"), max_length=64)
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    addressed_to = models.CharField(_("addressed to"), max_length=16, default="metrology")  # an institution role
    status = models.CharField(_("status"), max_length=8, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    opened_by = models.CharField(_("opened by"), max_length=140)  # the transaction's signer id
    opened_height = models.BigIntegerField(_("opened at height"))
    opened_at = models.DateTimeField(_("opened at"))
    raised_count = models.PositiveIntegerField(_("times raised"), default=1)
    last_raised_height = models.BigIntegerField(_("last raised at height"))
    closed_height = models.BigIntegerField(_("closed at height"), null=True, blank=True)
    closed_by_record = models.CharField(_("closed by record"), max_length=36, blank=True)
    tx_id = models.CharField(max_length=64)

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["-opened_height", "uid"]
        verbose_name = _("verification request")
        verbose_name_plural = _("verification requests")
        constraints = [
            models.UniqueConstraint(fields=["pile"], condition=models.Q(status="open"),
                                    name="calibration_one_open_request_per_pile"),
        ]

    def __str__(self) -> str:
        return f"{self.pile_id} {self.reason} ({self.status})"

    @property
    def public_id(self) -> str:
        return str(self.uid)

    def reason_label(self) -> str:
        try:
            return RequestReason(self.reason).label
        except ValueError:
            return self.reason
