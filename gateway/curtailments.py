"""Curtailments reach the piles: for every curtailment on the ledger in force, each pile of
its area connected to this node's gateway is sent its share of the limit (monitoring.intervals.
curtailment) as a charge point maximum profile, once; its answer is kept as a remote command
(`RemoteCommand`, action SetChargingProfile, `params.curtailment` the curtailment's id, no requester:
the node's own duty). A pile that was offline or did not answer in time is tried again on the next run.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from gateway import commands
from gateway.models import CommandStatus, Presence, RemoteCommand
from monitoring.intervals.curtailment import pile_limits
from monitoring.models import Curtailment
from registry.models import Pile, PileStatus

logger = logging.getLogger("pilechain.gateway")
ADMITTED = (PileStatus.ACTIVE, PileStatus.OUT_OF_SERVICE)
FINAL = (CommandStatus.ANSWERED, CommandStatus.REFUSED)


def _profile_id(curtailment: Curtailment) -> int:
    """A charging profile id per curtailment (OCPP wants an integer), the same at every gateway."""
    return int(curtailment.uid.hex[:7], 16) + 1


def apply_curtailments(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Send every connected pile its share of each curtailment not over yet; returns counts by status."""
    now = now or timezone.now()
    connected = set(Presence.objects.filter(connected=True).values_list("pile_code", flat=True))
    counts: dict[str, int] = {}
    if not connected:
        return counts
    # The curtailment in force (one at a time per area): a profile sent for a later one would replace it.
    for curtailment in (Curtailment.objects.filter(starts_at__lte=now, ends_at__gt=now).select_related("area")
                        .order_by("starts_at", "uid")):
        piles = dict(Pile.objects.filter(station__grid_area=curtailment.area, status__in=ADMITTED)
                     .values_list("code", "rated_power_kw"))
        limits = pile_limits(curtailment.limit_kw, piles, total=curtailment.rated_total_kw)
        done = set(RemoteCommand.objects.filter(action="SetChargingProfile", params__curtailment=str(curtailment.uid),
                                                status__in=FINAL).values_list("pile_code", flat=True))
        start = max(curtailment.starts_at, now)
        for code in sorted(set(limits) & connected - done):
            params = commands.validate("SetChargingProfile", {
                "limit_w": limits[code], "starts_at": curtailment.starts_at.isoformat(),
                "duration_s": int((curtailment.ends_at - curtailment.starts_at).total_seconds()),
                "profile_id": _profile_id(curtailment), "curtailment": str(curtailment.uid)})
            command = RemoteCommand.objects.create(pile_code=code, action="SetChargingProfile", params=params)
            status, response = commands.dispatch(pile_code=code, action="SetChargingProfile", params=params,
                                                 request_id=command.pk)
            command.status, command.response, command.answered_at = status, response, timezone.now()
            command.save(update_fields=["status", "response", "answered_at"])
            counts[status] = counts.get(status, 0) + 1
            logger.info("curtailment %s (from %s) to %s: %s W, %s", curtailment.uid, start.isoformat(), code,
                        limits[code], status)
    return counts
