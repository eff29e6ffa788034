"""The agreed intervals (ledger-owned): what the interval reports leave in each node's state.

The reports themselves stay in the blocks (a connector's figures are provable by inclusion); the
state keeps what queries and contracts read, so that it grows with piles x days, not with intervals:

- ConnectorDay: per connector per local day, the reported figures summed; a connector's latest day
  row also says where its reports stand (the end of the last interval reported, the meter register
  then, whether the pile signed it, the state the connector was in), so a report writes one row per
  connector;
- AreaLoad: per grid area per interval, the energy and peak power its piles reported (the load curve);
- OpenReport: a report's figures while its correction window is open (dropped when it closes);
- MaintenanceWindow: planned maintenance announced before it started (an exclusion);
- IntervalDispute: a regulator's dispute of a connector's interval, with its reason.

docs/intervals.md describes the report and the checks.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from registry.access import MembersSee, PileData, RestrictedQuerySet
from registry.models import GridArea, Pile


class ReportState(models.TextChoices):
    AVAILABLE = "available", _("available")
    OCCUPIED = "occupied", _("occupied")
    FAULTED = "faulted", _("faulted")
    UNAVAILABLE = "unavailable", _("unavailable")
    OFFLINE = "offline", _("offline")
    UNKNOWN = "unknown", _("unknown")


SECONDS_FIELDS = ("available_s", "occupied_s", "faulted_s", "unavailable_s", "offline_s", "unknown_s")
DAY_SUMS = (*SECONDS_FIELDS, "excluded_s", "intervals", "energy_wh", "signed_energy_wh", "authorizations",
            "sessions_started", "sessions_ended")
CURSOR_FIELDS = ("reported_until", "register_wh", "register_signed", "state")


@ledger.state.rows.register
class ConnectorDay(models.Model):
    """One connector, one local day: the reported seconds per state (what no report covers is
    unreported), the outage seconds excluded (grid outages, planned maintenance), the energy (and how
    much of it the pile signed), the peak power, authorizations and sessions; and, as of the last
    interval reported that day, the register, whether the pile signed it, and the state."""

    LEDGER_FIELDS = ("pile", "connector_id", "day", *DAY_SUMS, "peak_w", "stop_reasons", *CURSOR_FIELDS, "height")

    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+", db_index=False)
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    day = models.DateField(_("day"))
    available_s = models.IntegerField(_("available (s)"), default=0)
    occupied_s = models.IntegerField(_("occupied (s)"), default=0)
    faulted_s = models.IntegerField(_("faulted (s)"), default=0)
    unavailable_s = models.IntegerField(_("unavailable (s)"), default=0)
    offline_s = models.IntegerField(_("offline (s)"), default=0)
    unknown_s = models.IntegerField(_("unknown (s)"), default=0)
    excluded_s = models.IntegerField(_("excluded outage (s)"), default=0)
    intervals = models.IntegerField(_("intervals reported"), default=0)
    energy_wh = models.BigIntegerField(_("energy (Wh)"), default=0)
    signed_energy_wh = models.BigIntegerField(_("energy the pile signed (Wh)"), default=0)
    peak_w = models.IntegerField(_("peak power (W)"), default=0)
    authorizations = models.BigIntegerField(_("authorization attempts"), default=0)
    sessions_started = models.BigIntegerField(_("sessions started"), default=0)
    sessions_ended = models.BigIntegerField(_("sessions ended"), default=0)
    # "reason:count" by reason, space-separated (text, not JSON: a row is encoded twice per interval).
    stop_reasons = models.CharField(_("stop reasons"), max_length=700, blank=True)
    reported_until = models.DateTimeField(_("reported until"))
    register_wh = models.BigIntegerField(_("meter register (Wh)"), null=True)
    register_signed = models.BooleanField(_("register signed by the pile"), default=False)
    state = models.CharField(_("state"), max_length=16, choices=ReportState.choices)
    height = models.BigIntegerField(_("block height"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["pile_id", "connector_id", "day"]
        constraints = [models.UniqueConstraint(fields=["pile", "connector_id", "day"], name="mon_connectorday_unique")]
        indexes = [models.Index(fields=["day"], name="mon_connectorday_day")]

    @property
    def public_id(self) -> str:
        return f"connector-day/{self.pile.code}/{self.connector_id}/{self.day.isoformat()}"

    @property
    def reported_s(self) -> int:
        return sum(getattr(self, name) for name in SECONDS_FIELDS)

    @property
    def stop_reason_counts(self) -> dict[str, int]:
        return parse_reasons(self.stop_reasons)


def parse_reasons(text: str) -> dict[str, int]:
    counts = {}
    for part in text.split():
        reason, _, count = part.partition(":")
        counts[reason] = int(count)
    return counts


MAX_REASONS = 16


def format_reasons(counts: dict[str, int]) -> str:
    """At most MAX_REASONS reasons, by reason; beyond that the rarest are counted as "Other"."""
    if len(counts) > MAX_REASONS:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        counts = dict(ranked[:MAX_REASONS - 1])
        counts["Other"] = counts.get("Other", 0) + sum(count for _, count in ranked[MAX_REASONS - 1:])
    return " ".join(f"{reason}:{count}" for reason, count in sorted(counts.items()))


@ledger.state.rows.register
class AreaLoad(models.Model):
    """A grid area's load in one interval: the sum of what its piles' operators reported."""

    LEDGER_FIELDS = ("area", "start", "seconds", "energy_wh", "peak_w", "connectors", "height")

    area = models.ForeignKey(GridArea, verbose_name=_("grid area"), on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    start = models.DateTimeField(_("interval start"))
    seconds = models.IntegerField(_("interval length (s)"))
    energy_wh = models.BigIntegerField(_("energy (Wh)"), default=0)
    peak_w = models.BigIntegerField(_("sum of connector peaks (W)"), default=0)
    connectors = models.IntegerField(_("connectors reported"), default=0)
    height = models.BigIntegerField(_("block height"))

    objects = RestrictedQuerySet.as_manager()
    restriction = MembersSee()

    class Meta:
        ordering = ["area_id", "start"]
        constraints = [models.UniqueConstraint(fields=["area", "start"], name="mon_areaload_unique")]

    @property
    def public_id(self) -> str:
        return f"area-load/{self.area.code}/{self.start.isoformat()}"

    @property
    def average_w(self) -> int:
        """The interval's average power: its energy over its length (whole W, rounded down)."""
        return self.energy_wh * 3600 // self.seconds


@ledger.state.rows.register
class OpenReport(models.Model):
    """A report's figures while it may be corrected: one row per report transaction, `figures` the
    JSON text of one list per connector (docs/intervals.md), `corrected` the connectors ("PILE/N")
    corrected since."""

    LEDGER_FIELDS = ("tx_id", "reporter", "start", "closes_at", "figures", "corrected")

    tx_id = models.CharField(max_length=64, unique=True)
    reporter = models.CharField(max_length=32)
    start = models.DateTimeField()
    closes_at = models.DateTimeField(db_index=True)
    figures = models.TextField()
    corrected = models.TextField(blank=True)

    class Meta:
        ordering = ["closes_at", "tx_id"]

    @property
    def public_id(self) -> str:
        return f"open-report/{self.tx_id}"


@ledger.state.rows.register
class MaintenanceWindow(models.Model):
    """Planned maintenance of one connector, announced by its operator before it started: outage in
    it is excluded, up to the consortium's cap per connector per year."""

    LEDGER_FIELDS = ("uid", "pile", "connector_id", "starts_at", "ends_at", "seconds", "reason", "announced_by",
                     "height")

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+")
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    seconds = models.IntegerField(_("length (s)"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    announced_by = models.CharField(max_length=32)
    height = models.BigIntegerField(_("block height"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["starts_at", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class MeterReplacement(models.Model):
    """A connector's meter replaced, declared by the pile's operator after its last reported interval:
    the old meter's last reading and the new meter's first. The connector's register check starts
    again from the new meter's first reading."""

    LEDGER_FIELDS = ("uid", "pile", "connector_id", "at", "old_last_wh", "new_first_wh", "reason", "declared_by",
                     "height")

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+")
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    at = models.DateTimeField(_("replaced at"))
    old_last_wh = models.BigIntegerField(_("old meter's last reading (Wh)"), null=True)
    new_first_wh = models.BigIntegerField(_("new meter's first reading (Wh)"))
    reason = models.CharField(_("reason"), max_length=300)
    declared_by = models.CharField(max_length=32)
    height = models.BigIntegerField(_("block height"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["at", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class IntervalDispute(models.Model):
    """A regulator disputes what a connector's interval report says, with a reason."""

    LEDGER_FIELDS = ("uid", "pile", "connector_id", "start", "reason", "disputed_by", "report_tx", "height")

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+")
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    start = models.DateTimeField(_("interval start"))
    reason = models.CharField(_("reason"), max_length=500)
    disputed_by = models.CharField(max_length=32)
    report_tx = models.CharField(max_length=64, blank=True)
    height = models.BigIntegerField(_("block height"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["start", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)
