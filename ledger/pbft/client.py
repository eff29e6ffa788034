"""The client side of PBFT: a reply is believed once f+1 replicas report the same outcome, since at
most f of them can lie."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.pbft.log import CommittedBlock


@dataclass(frozen=True)
class Reply:
    replica: str
    tx_id: str
    height: int
    block_hash: str


def replies_for(block: CommittedBlock, replica_id: str) -> list[Reply]:
    """What a replica's node reports to the clients of the transactions in a block it committed."""
    h, d = block.height, block.block_hash
    return [Reply(replica_id, tx.id, h, d) for tx in block.txs]


@dataclass
class ReplyCollector:
    f: int
    _votes: dict = field(default_factory=dict)  # tx id -> {(height, hash): {replica}}
    accepted: dict = field(default_factory=dict)  # tx id -> (height, block hash)

    def add(self, reply: Reply) -> "tuple[int, str] | None":
        """The accepted (height, block hash) for the reply's transaction, once f+1 replicas agree."""
        if reply.tx_id in self.accepted:
            return self.accepted[reply.tx_id]
        outcome = (reply.height, reply.block_hash)
        voters = self._votes.setdefault(reply.tx_id, {}).setdefault(outcome, set())
        voters.add(reply.replica)
        if len(voters) >= self.f + 1:
            self.accepted[reply.tx_id] = outcome
            del self._votes[reply.tx_id]
            return outcome
        return None
