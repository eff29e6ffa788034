"""Pages of the ledger for people: where a transaction they sent stands (pending, then committed in
block N, or rejected and why). Domain pages redirect here after a write."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from ledger import selectors


def pending_redirect(request, submission, *, next_url: str = ""):
    """Where a page goes after a service queued a transaction: its status page, then `next_url`."""
    url = reverse("ledger:tx_status", args=[submission.tx_id])
    return redirect(f"{url}?{urlencode({'next': next_url})}" if next_url else url)


def _visible(request, tx_id: str) -> dict:
    found = selectors.tx_status_for(user=request.user, tx_id=tx_id.lower())
    if found is None:
        raise Http404
    return found


@login_required
def tx_status(request, tx_id: str):
    found = _visible(request, tx_id)
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    return render(request, "ledger/tx_status.html", {"tx": found, "next_url": next_url})


@login_required
def tx_status_json(request, tx_id: str):
    found = _visible(request, tx_id)
    return JsonResponse({k: found[k] for k in ("tx_id", "status", "reason", "height", "type")})
