"""Drivers' id tags as the ledger carries them (PIPL): a keyed hash, never the tag itself.

pseudonym = HMAC-SHA256(key, "pilechain-id-tag-v1" NUL operator NUL id tag), in lower-case hex. The
key is a secret of the operator's node (ledger.node_keys.pseudonym_key, a file of its own under
var/<node>/keys, mode 0600), stable across restarts: one driver's sessions at one operator carry one
pseudonym, so the operator (and whoever may see its sessions) can link them, while no other member
can find a card number behind a pseudonym by hashing a list of candidates, as it lacks the key. The
operator's code is hashed in, so a node that records sessions for two operators (a hosting provider)
gives one driver two unlinkable pseudonyms. The raw tag stays at the operator's node, in its
gateway's OCPP transactions (node-local). The contracts check only the format
(settlement.identifiers.is_id_tag_pseudonym).
"""

from __future__ import annotations

import hashlib
import hmac

from ledger.runtime import node

DOMAIN = b"pilechain-id-tag-v1"


def id_tag_pseudonym(id_tag: str, *, operator: str, key: bytes | None = None) -> str:
    """The pseudonym of `id_tag` at `operator`; empty for an empty tag (the pile named no one)."""
    if not id_tag:
        return ""
    message = b"\0".join([DOMAIN, operator.encode(), id_tag.encode()])
    return hmac.new(key if key is not None else node.pseudonym_key(), message, hashlib.sha256).hexdigest()
