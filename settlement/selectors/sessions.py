"""Reads of charging sessions, narrowed to what a user may see (ChargingSession.restriction)."""

from __future__ import annotations

from settlement.models import ChargingSession


def sessions_for(user):
    """Operators see their piles' sessions; the regulator and metrology institutes see all."""
    return ChargingSession.objects.restrict(user).select_related("pile")
