"""Block headers, the validator set and commit certificates.

A header is hashed over its canonical encoding; the block's transactions are bound by the Merkle
root of their ids. A committed block carries a commit certificate: a quorum of distinct validators'
signatures over the COMMIT vote (chain, view, height, block hash). Anyone holding the consortium's
public keys can check it without trusting the node that served the block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ledger.chain.crypto import ED25519, PublicKey
from ledger.chain.encoding import canonical, sha256
from ledger.chain.merkle import merkle_root

ZERO_HASH = "00" * 32


def max_faulty(n: int) -> int:
    return (n - 1) // 3


def quorum_size(n: int) -> int:
    """ceil((n + f + 1) / 2): any two quorums share at least f + 1 replicas, so at least one
    correct one. It is 2f + 1 when n = 3f + 1; plain 2f + 1 would be unsafe for n = 5 or 6."""
    f = max_faulty(n)
    return (n + f + 2) // 2


@dataclass(frozen=True)
class Validator:
    id: str  # the institution code of the node
    public_key: PublicKey  # Ed25519


@dataclass(frozen=True)
class ValidatorSet:
    chain_id: str
    validators: tuple[Validator, ...]

    def __post_init__(self):
        ids = [v.id for v in self.validators]
        if len(set(ids)) != len(ids):
            raise ValueError("validator ids must be distinct")
        if len(ids) < 4:
            raise ValueError("PBFT needs at least 4 validators")
        if any(v.public_key.kind != ED25519 for v in self.validators):
            raise ValueError("validators sign with Ed25519")
        object.__setattr__(self, "_by_id", {v.id: v for v in self.validators})

    @property
    def n(self) -> int:
        return len(self.validators)

    @property
    def f(self) -> int:
        return max_faulty(self.n)

    @property
    def quorum(self) -> int:
        return quorum_size(self.n)

    def ids(self) -> list[str]:
        return [v.id for v in self.validators]

    def index(self, validator_id: str) -> int:
        return self.ids().index(validator_id)

    def primary(self, view: int) -> str:
        return self.validators[view % self.n].id

    def key(self, validator_id: str) -> PublicKey | None:
        v = self._by_id.get(validator_id)
        return v.public_key if v else None


@dataclass(frozen=True)
class BlockHeader:
    chain_id: str
    height: int
    prev_hash: str  # hex of the previous header's hash; ZERO_HASH for genesis
    timestamp_ms: int  # proposed by the primary, checked by replicas against their own clock input
    tx_root: str  # hex Merkle root of the transaction ids, in block order
    tx_count: int
    state_root: str  # hex; see ledger.pbft for what state it commits to
    view: int
    proposer: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "BlockHeader":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    def hash(self) -> str:
        return sha256(canonical(self.to_dict())).hex()


def tx_root(tx_ids: list[str]) -> str:
    return merkle_root([bytes.fromhex(t) for t in tx_ids]).hex()


def commit_vote_bytes(chain_id: str, view: int, height: int, block_hash: str) -> bytes:
    """What a validator signs when it commits a block; the PBFT COMMIT message signs the same."""
    return canonical({"t": "commit", "chain": chain_id, "view": view, "height": height, "block": block_hash})


@dataclass(frozen=True)
class CommitCertificate:
    view: int
    signatures: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (validator id, hex sig)

    def to_dict(self) -> dict:
        return {"view": self.view, "signatures": [list(s) for s in self.signatures]}

    @classmethod
    def from_dict(cls, data: dict) -> "CommitCertificate":
        return cls(view=data["view"], signatures=tuple((str(a), str(b)) for a, b in data["signatures"]))


def verify_commit_certificate(header: BlockHeader, cert: CommitCertificate, validators: ValidatorSet) -> bool:
    """True when a quorum of distinct known validators signed COMMIT for exactly this header."""
    if header.chain_id != validators.chain_id:
        return False
    message = commit_vote_bytes(header.chain_id, cert.view, header.height, header.hash())
    good: set[str] = set()
    for validator_id, sig_hex in cert.signatures:
        if validator_id in good:
            continue
        key = validators.key(validator_id)
        if key is None:
            continue
        try:
            sig = bytes.fromhex(sig_hex)
        except (ValueError, TypeError):
            continue
        if key.verify(sig, message):
            good.add(validator_id)
    return len(good) >= validators.quorum
