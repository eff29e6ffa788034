"""Daily availability reports (ledger-owned): what a pile's operator committed, day by day, about
the time its connectors could serve a driver. Subsidy claims are judged by these, not by figures
the claimant sends along."""

from django.db import models
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from monitoring.uptime import ratio
from registry.access import PileData, RestrictedQuerySet
from registry.models import Pile


@ledger.state.rows.register
class AvailabilityDay(models.Model):
    """One pile, one local day: connector-seconds up, down, down inside flagged grid outages
    (excused) and unknown, which add up to `seconds` (connectors x the length of the day); `root` is
    the Merkle root of the pile's status events of that day (monitoring.leaves.status_leaf)."""

    LEDGER_FIELDS = (
        "pile", "day", "connectors", "seconds", "up_seconds", "down_seconds", "excused_seconds", "unknown_seconds",
        "root", "events", "reported_by", "height", "tx_id",
    )

    # No index of its own: the unique (pile, day) index serves lookups by pile and (pile, day) ranges.
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField(_("day"))
    connectors = models.PositiveSmallIntegerField(_("connectors"))
    seconds = models.BigIntegerField(_("connector-seconds"))
    up_seconds = models.BigIntegerField(_("up (s)"))
    down_seconds = models.BigIntegerField(_("down (s)"))
    excused_seconds = models.BigIntegerField(_("grid outage (s)"))
    unknown_seconds = models.BigIntegerField(_("unknown (s)"))
    root = models.CharField(_("status events root"), max_length=64, blank=True)
    events = models.PositiveIntegerField(_("status events"))
    reported_by = models.CharField(_("reported by"), max_length=32)
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(max_length=64, db_index=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["pile_id", "day"]
        verbose_name = _("availability day")
        verbose_name_plural = _("availability days")
        constraints = [models.UniqueConstraint(fields=["pile", "day"], name="mon_availabilityday_unique")]

    def __str__(self) -> str:
        return f"{self.pile_id} {self.day}"

    @property
    def public_id(self) -> str:
        return f"availability/{self.pile.code}/{self.day.isoformat()}"

    @property
    def ratio(self):
        return ratio(up=self.up_seconds, seconds=self.seconds, excused=self.excused_seconds)
