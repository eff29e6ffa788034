"""The node's peer endpoint and its public identity. Peers are authenticated per message by
signature, not per connection, so these views need no session or token."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ledger.models import InboxMessage, PeerDrop
from ledger.pbft import messages
from ledger.runtime import node, peers, wake
from ledger.runtime.transport import BatchError, unpack

logger = logging.getLogger("pilechain.ledger.peer")


def count_drop(sender: str, reason: str, n: int = 1) -> None:
    row, _ = PeerDrop.objects.get_or_create(sender=sender[:64], reason=reason)
    PeerDrop.objects.filter(pk=row.pk).update(count=F("count") + n, last_at=timezone.now())


@csrf_exempt
@require_POST
def peer_messages(request):
    if not node.configured():
        return JsonResponse({"error": "this node is not part of a consortium"}, status=503)
    claimed = request.headers.get("X-Pilechain-Node", "?")
    if int(request.headers.get("Content-Length") or 0) > settings.LEDGER_MAX_PEER_BODY:
        count_drop(claimed, "oversized_batch")
        return JsonResponse({"error": "batch too large"}, status=413)
    # Read the stream ourselves: a pre-prepare with a large batch exceeds the limit for form posts.
    body = request.read(settings.LEDGER_MAX_PEER_BODY + 1)
    if len(body) > settings.LEDGER_MAX_PEER_BODY:
        count_drop(claimed, "oversized_batch")
        return JsonResponse({"error": "batch too large"}, status=413)
    try:
        wires = unpack(body)
    except BatchError as exc:
        count_drop(claimed, "malformed_batch")
        return JsonResponse({"error": f"malformed batch: {exc}"}, status=400)
    validators = node.consortium().validators()
    accepted, dropped = [], {}
    for wire in wires:
        try:
            envelope = messages.decode(wire)
        except messages.MessageError:
            dropped["malformed"] = dropped.get("malformed", 0) + 1
            continue
        reason = messages.verify_envelope(envelope, validators)
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        accepted.append(InboxMessage(sender=envelope.sender, data=wire))
    with transaction.atomic():
        InboxMessage.objects.bulk_create(accepted)
        for reason, n in dropped.items():
            count_drop(claimed, reason, n)
    if accepted:
        wake.ring()
        peers.heard_from({m.sender for m in accepted})
    if dropped:
        logger.warning("peer messages dropped", extra={"claimed_sender": claimed, "dropped": dropped})
    return JsonResponse({"accepted": len(accepted), "dropped": dropped}, status=202)


@require_GET
def genesis(request):
    """What a peer compares before talking to this node: the same definition, the same genesis."""
    if not node.configured():
        return JsonResponse({"error": "this node is not part of a consortium"}, status=503)
    definition = node.consortium()
    return JsonResponse(
        {
            "node": settings.NODE_CODE,
            "chain_id": definition.chain_id,
            "consortium_digest": definition.digest(),
            "genesis_state_root": node.genesis_state_root(definition),
        }
    )

