from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from monitoring.selectors import operational
from registry import selectors
from registry.models import InstitutionRole


def _fleet(user, summary: dict):
    """The piles whose counts the home page shows, and the pile list's filter for them (a query string
    prefix), so that every count links to the piles behind it."""
    piles = selectors.pile_list(user=user)
    institution = summary.get("institution")
    if summary.get("role") == InstitutionRole.OPERATOR:
        return piles.filter(station__operator=institution), f"operator={quote(institution.code)}&"
    if summary.get("role") == InstitutionRole.GRID:
        return piles.filter(station__grid_area__owner=institution), f"grid_company={quote(institution.code)}&"
    return piles, ""


@login_required
def home(request):
    """One summary per institution role: what that member needs to see first."""
    summary = selectors.home_summary(user=request.user, today=timezone.localdate())
    if summary.get("role"):
        piles, query = _fleet(request.user, summary)
        counts = operational.state_counts(piles, user=request.user)
        summary["operational_states"] = [
            {"state": state, "label": label, "badge": operational.STATE_BADGES[state], "count": counts[state]}
            for state, label in operational.state_choices()
        ]
        summary["operational_query"] = query
    return render(request, "dashboards/home.html", {"summary": summary})
