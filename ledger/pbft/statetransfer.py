"""State transfer: a replica that is behind fetches committed blocks with their certificates.

The replica does not hold blocks (the runtime's store does), so a FETCH that a replica has
authenticated comes out of ready() as a `StateRequest`, and the runtime answers it with
`serve_state_request` over its own store. The fetching replica trusts nothing about the answer:
each block must extend its chain (height, prev_hash), its transactions must match the header's
Merkle root, and its commit certificate must hold a quorum of valid COMMIT signatures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ledger.chain.block import CommitCertificate, ValidatorSet, verify_commit_certificate
from ledger.chain.crypto import SigningKey
from ledger.pbft import messages as m
from ledger.pbft.log import CommittedBlock, Proposal, body_matches_header, parse_header, parse_txs


@dataclass(frozen=True)
class StateRequest:
    requester: str
    from_height: int
    to_height: int


def fetch_body(chain: str, sender: str, from_height: int, to_height: int) -> dict:
    return {"t": m.FETCH, "chain": chain, "from": sender, "from_height": from_height, "to_height": to_height}


def serve_state_request(
    request: StateRequest,
    get_block: Callable[[int], "CommittedBlock | None"],
    *,
    signing_key: SigningKey,
    chain_id: str,
    replica_id: str,
    max_blocks: int = 16,
) -> m.Outgoing | None:
    """The BLOCKS answer from this node's store, or None when it holds none of them."""
    blocks = []
    last = min(request.to_height, request.from_height + max_blocks - 1)
    for h in range(request.from_height, last + 1):
        block = get_block(h)
        if block is None:
            break
        blocks.append(block.to_dict())
    if not blocks:
        return None
    env = m.sign(signing_key, {"t": m.BLOCKS, "chain": chain_id, "from": replica_id, "blocks": blocks})
    return m.Outgoing((request.requester,), env)


def check_blocks(env: m.Envelope, next_height: int, prev_hash: str, validators: ValidatorSet):
    """(the verified prefix of a BLOCKS answer that extends the chain at next_height, whether
    anything in it was refused rather than merely old)."""
    good: list[CommittedBlock] = []
    refused = False
    for raw in env.body["blocks"]:
        refused = True
        try:
            if not isinstance(raw, dict) or set(raw) != {"header", "txs", "cert"}:
                break
            header = parse_header(raw["header"])
            if header.height < next_height:
                refused = False
                continue  # already have it
            txs = parse_txs(raw["txs"])
            cert = CommitCertificate.from_dict(raw["cert"])
        except (m.MessageError, KeyError, TypeError, ValueError):
            break
        if header.height != next_height or header.prev_hash != prev_hash:
            break
        if header.chain_id != validators.chain_id:
            break
        if not body_matches_header(Proposal(header, txs, "")):
            break
        if not verify_commit_certificate(header, cert, validators):
            break
        good.append(CommittedBlock(header, txs, cert))
        next_height, prev_hash = next_height + 1, header.hash()
        refused = False
    return good, refused
