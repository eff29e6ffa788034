"""The live path's endpoint for members (POST /monitoring/live/peer/): authenticated per batch by
the source node's signature (monitoring.live.wire), so it needs no session or token."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ledger.runtime import node
from monitoring.live import receiver, wire

logger = logging.getLogger("pilechain.monitoring.live")

MAX_BODY = 4 * 1024 * 1024


@csrf_exempt
@require_POST
def peer_batch(request):
    if not node.configured():
        return JsonResponse({"error": "this node is not part of a consortium"}, status=503)
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY:
        return JsonResponse({"error": "batch too large"}, status=413)
    body = request.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return JsonResponse({"error": "batch too large"}, status=413)
    try:
        batch = wire.unpack(body, consortium=node.consortium(), me=settings.NODE_CODE)
    except wire.WireError as exc:
        logger.warning("live batch refused", extra={"claimed_sender": request.headers.get("X-Pilechain-Node", "?"),
                                                   "reason": str(exc)})
        return JsonResponse({"error": str(exc)}, status=400)
    outcome = receiver.receive(batch)
    return JsonResponse({"applied": outcome.applied, "refused": outcome.refused}, status=outcome.status)
