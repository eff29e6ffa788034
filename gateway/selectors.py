"""Reads for the gateway's pages and API, narrowed to what the user may see."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from gateway.access import may_operate, visible_piles
from gateway.models import ChargePointCredential, Presence, RemoteCommand
from settlement.selectors.sessions import sessions_for


def presences_for(user):
    return Presence.objects.restrict(user).order_by("-connected", "pile_code")


def pile_overview(user, code: str) -> dict:
    """Everything the per-pile page shows; 404 for a pile the user may not see."""
    pile = get_object_or_404(visible_piles(user).select_related("station"), code__iexact=code)
    credential = ChargePointCredential.objects.restrict(user).filter(pile_code=pile.code.upper()).select_related("set_by").first()
    return {
        "pile": pile,
        "presence": Presence.objects.restrict(user).filter(pile_code=pile.code.upper()).first(),
        "credential": credential,
        "commands": RemoteCommand.objects.restrict(user).filter(pile_code=pile.code).select_related("requested_by")[:20],
        "sessions": sessions_for(user).filter(pile=pile)[:20],
        "may_operate": may_operate(user, pile),
        "connectors": list(pile.connectors.order_by("connector_id").values_list("connector_id", flat=True)),
    }
