"""Blocks as proposed and the per-(view, height) message log.

A proposal is a header plus the transactions it commits to; its hash is the header hash, which is
the digest PREPARE and COMMIT vote on. The header's `view` and `proposer` are those of the view that
first proposed it: a NEW-VIEW re-proposes the identical header, so the block hash (and every later
block's prev_hash) survives view changes. The commit certificate's view is the view it committed in.

A PRE-PREPARE in its digest form (as VIEW-CHANGE and NEW-VIEW carry it) gives a proposal whose `txs`
is None: the header and hash are known, the body is not (yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.chain.block import ZERO_HASH, BlockHeader, CommitCertificate, tx_root
from ledger.chain.merkle import EMPTY_ROOT
from ledger.chain.tx import Transaction, TxFormatError
from ledger.pbft.messages import Envelope, MessageError

EMPTY_TX_ROOT = EMPTY_ROOT.hex()


@dataclass(frozen=True)
class Proposal:
    header: BlockHeader
    txs: tuple[Transaction, ...] | None  # None: the PRE-PREPARE came in its digest form
    block_hash: str

    @property
    def is_null(self) -> bool:
        return is_null_header(self.header)


@dataclass(frozen=True)
class CommittedBlock:
    """What ready() hands the runtime to store and apply."""

    header: BlockHeader
    txs: tuple[Transaction, ...]
    certificate: CommitCertificate

    @property
    def height(self) -> int:
        return self.header.height

    @property
    def block_hash(self) -> str:
        return self.header.hash()

    def to_dict(self) -> dict:
        return {
            "header": self.header.to_dict(),
            "txs": [tx.to_dict() for tx in self.txs],
            "cert": self.certificate.to_dict(),
        }


def parse_header(data) -> BlockHeader:
    if not isinstance(data, dict) or set(data) != set(BlockHeader.__dataclass_fields__):
        raise MessageError("header has the wrong fields")
    header = BlockHeader.from_dict(data)
    ints = (header.height, header.timestamp_ms, header.tx_count, header.view)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**62 for v in ints):
        raise MessageError("header numbers must be non-negative integers")
    strs = (header.chain_id, header.prev_hash, header.tx_root, header.state_root, header.proposer)
    if not all(isinstance(v, str) for v in strs):
        raise MessageError("header fields must be strings")
    return header


def parse_txs(data) -> tuple[Transaction, ...]:
    if not isinstance(data, list):
        raise MessageError("txs must be a list")
    try:
        return tuple(Transaction.from_dict(t) for t in data)
    except (TxFormatError, TypeError) as exc:
        raise MessageError(f"malformed transaction: {exc}") from exc


def proposal_of(env: Envelope) -> Proposal:
    """The block a PRE-PREPARE carries; cached on the envelope, parsed once per replica."""
    cached = getattr(env, "_proposal", None)
    if cached is None:
        header = parse_header(env.body["header"])
        txs = None if env.is_digest_form else parse_txs(env.body["txs"])
        cached = Proposal(header, txs, header.hash())
        env._proposal = cached
    return cached


def body_matches_header(p: Proposal) -> bool:
    """The transactions are exactly those the header's Merkle root commits to."""
    if p.txs is None:
        return False
    return p.header.tx_count == len(p.txs) and p.header.tx_root == tx_root([t.id for t in p.txs])


def null_header(chain_id: str, height: int, prev_hash: str, view: int, proposer: str) -> BlockHeader:
    """A gap filler in NEW-VIEW: no transactions, no time, no state. Its timestamp and state_root are
    zero because the new primary cannot know them (it has not applied the block before it); the next
    real block's timestamp and state_root are checked against the last real ones, and applying it
    leaves the state (and its root) as it was (ledger.execution)."""
    return BlockHeader(chain_id, height, prev_hash, 0, EMPTY_TX_ROOT, 0, ZERO_HASH, view, proposer)


def is_null_header(h: BlockHeader) -> bool:
    """The one definition of a null block, for the replica and the executor alike."""
    return h.tx_count == 0 and h.timestamp_ms == 0 and h.state_root == ZERO_HASH and h.tx_root == EMPTY_TX_ROOT


@dataclass
class Slot:
    """Everything heard about one (view, height)."""

    view: int
    height: int
    preprepare: Envelope | None = None
    reproposal: bool = False  # installed from a NEW-VIEW: certified content, no clock check
    # A re-proposal installed in its digest form, its body not yet at hand: `validated` stays None
    # (nothing to check or vote on) until a BODY matching the digest arrives.
    awaiting_body: bool = False
    prepares: dict[str, Envelope] = field(default_factory=dict)  # sender -> PREPARE
    commits: dict[str, Envelope] = field(default_factory=dict)  # sender -> COMMIT
    validated: bool = False  # this replica checked the block itself
    sent_prepare: bool = False
    sent_commit: bool = False

    @property
    def block_hash(self) -> str | None:
        return proposal_of(self.preprepare).block_hash if self.preprepare else None

    def prepare_votes(self, primary: str) -> list[Envelope]:
        d = self.block_hash
        return [e for s, e in self.prepares.items() if s != primary and e.body["block"] == d]

    def is_prepared(self, primary: str, quorum: int) -> bool:
        # The primary's PRE-PREPARE is its vote; backups vote with PREPARE.
        return self.preprepare is not None and len(self.prepare_votes(primary)) + 1 >= quorum

    def commit_votes(self) -> list[Envelope]:
        d = self.block_hash
        return [e for e in self.commits.values() if e.body["block"] == d]
