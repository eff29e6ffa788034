"""Reads of charging sessions, narrowed to what a user may see (ChargingSession.restriction)."""

from __future__ import annotations

from settlement.models import ChargingSession


def sessions_for(user):
    """Operators see their piles' sessions; the regulator and metrology institutes see all."""
    return ChargingSession.objects.restrict(user).select_related("pile")


def interval_sessions(*, pile_ids, start, end) -> tuple[dict, dict]:
    """The sessions of `pile_ids` that started, and that stopped, in [start, end): per (pile id,
    connector id) the number started, and the number stopped per stop reason (monitoring's interval
    reports). Two queries."""
    started: dict[tuple[int, int], int] = {}
    for pile_id, connector_id in (ChargingSession.objects.filter(pile_id__in=pile_ids, started_at__gte=start,
                                                                 started_at__lt=end)
                                  .values_list("pile_id", "connector_id")):
        started[(pile_id, connector_id)] = started.get((pile_id, connector_id), 0) + 1
    ended: dict[tuple[int, int], dict[str, int]] = {}
    for pile_id, connector_id, reason in (ChargingSession.objects.filter(pile_id__in=pile_ids, stopped_at__gte=start,
                                                                         stopped_at__lt=end)
                                          .values_list("pile_id", "connector_id", "stop_reason")):
        reasons = ended.setdefault((pile_id, connector_id), {})
        reasons[reason] = reasons.get(reason, 0) + 1
    return started, ended
