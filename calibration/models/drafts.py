"""Node-local drafts of a record being prepared in the web form (never on the ledger)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import RestrictedQuerySet, StartedBy


class RecordDraft(models.Model):
    """What the staff imported or typed, kept while something is wrong or not yet signed."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calibration_drafts")
    pile_code = models.CharField(_("pile"), max_length=48, blank=True)
    box_serial = models.CharField(_("test box"), max_length=64, blank=True)
    data = models.JSONField(_("form data"), default=dict)
    measurement = models.JSONField(_("imported record"), null=True, blank=True)
    problems = models.JSONField(_("problems"), default=list)
    submission_tx = models.CharField(max_length=64, blank=True)  # set once the draft was filed
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = StartedBy("owner")

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("record draft")
        verbose_name_plural = _("record drafts")

    def __str__(self) -> str:
        return f"draft {self.pk} {self.pile_code}"
