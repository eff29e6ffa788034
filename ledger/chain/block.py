"""Block headers, the validator set, commit certificates and blocks.

A header is hashed over its canonical encoding; the block's transactions are bound by the Merkle
root of their ids. A committed block carries a commit certificate: a quorum of distinct validators'
signatures over the COMMIT vote (chain, view, height, block hash). Anyone holding the consortium's
public keys can check it without trusting the node that served the block.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from ledger.chain.crypto import ED25519, PublicKey, SigningKey
from ledger.chain.encoding import MAX_SAFE_INT, EncodingError, canonical, sha256
from ledger.chain.merkle import EMPTY_ROOT, MerkleTree, merkle_root
from ledger.chain.tx import Transaction, TxFormatError

ZERO_HASH = "00" * 32
HASH_HEX_RE = re.compile(r"[0-9a-f]{64}")


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
        """Exactly the header's fields: a field dropped or added silently would change the hash."""
        _expect_fields(data, set(cls.__dataclass_fields__), "block header")
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    def hash(self) -> str:
        return sha256(canonical(self.to_dict())).hex()

    def problem(self) -> str | None:
        """What makes this header malformed, or None. Not enforced on construction (the replica
        builds headers field by field); verifiers of headers from elsewhere call it."""
        return header_problem(self)


class BlockFormatError(ValueError):
    """A header, certificate or block dict that is not well formed."""


def _expect_fields(data, expected: set[str], what: str) -> None:
    if not isinstance(data, dict):
        raise BlockFormatError(f"a {what} is a JSON object")
    if set(data) != expected:
        missing, extra = expected - set(data), set(data) - expected
        raise BlockFormatError(f"{what}: fields missing: {sorted(missing)}; unexpected: {sorted(extra)}")


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INT


def _is_hash_hex(value) -> bool:
    return isinstance(value, str) and HASH_HEX_RE.fullmatch(value) is not None


def header_problem(header: BlockHeader) -> str | None:
    if not isinstance(header, BlockHeader):
        return "not a block header"
    if not isinstance(header.chain_id, str) or not header.chain_id:
        return "chain_id must be a non-empty string"
    for name in ("height", "timestamp_ms", "tx_count", "view"):
        if not _is_count(getattr(header, name)):
            return f"{name} must be a non-negative integer"
    for name in ("prev_hash", "tx_root", "state_root"):
        if not _is_hash_hex(getattr(header, name)):
            return f"{name} must be 64 lower-case hex characters"
    if not isinstance(header.proposer, str) or not header.proposer:
        return "proposer must be a non-empty string"
    if header.height == 0 and header.prev_hash != ZERO_HASH:
        return "the genesis header's prev_hash is all zeros"
    if header.tx_count == 0 and header.tx_root != EMPTY_ROOT.hex():
        return "an empty block has the empty tree's root"
    try:
        canonical(header.to_dict())
    except EncodingError as exc:
        return f"not encodable: {exc}"
    return None


def tx_root(tx_ids: list[str]) -> str:
    return merkle_root([bytes.fromhex(t) for t in tx_ids]).hex()


def tx_tree(tx_ids: list[str]) -> MerkleTree:
    """The tree behind tx_root, for inclusion proofs; leaves are the 32-byte transaction ids."""
    return MerkleTree.from_leaves([bytes.fromhex(t) for t in tx_ids])


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
        _expect_fields(data, {"view", "signatures"}, "commit certificate")
        view, signatures = data["view"], data["signatures"]
        if not _is_count(view):
            raise BlockFormatError("certificate view must be a non-negative integer")
        if not isinstance(signatures, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) and len(s) == 2 and all(isinstance(x, str) for x in s) for s in signatures
        ):
            raise BlockFormatError("certificate signatures are [validator id, hex signature] pairs")
        return cls(view=view, signatures=tuple((a, b) for a, b in signatures))

    @classmethod
    def build(cls, header: BlockHeader, view: int, keys: Mapping[str, SigningKey]) -> "CommitCertificate":
        """Sign COMMIT for `header` with each validator key given (id -> key); sorted by id, so the
        same signers always give the same certificate."""
        message = commit_vote_bytes(header.chain_id, view, header.height, header.hash())
        return cls(view=view, signatures=tuple((vid, keys[vid].sign(message).hex()) for vid in sorted(keys)))


def verify_commit_certificate(header: BlockHeader, cert: CommitCertificate, validators: ValidatorSet) -> bool:
    """True when a quorum of distinct known validators signed COMMIT for exactly this header.
    Never raises: a malformed header or certificate is simply not a valid one."""
    try:
        return _count_commit_signers(header, cert, validators) >= validators.quorum
    except Exception:  # hostile input of any shape answers False
        return False


def _count_commit_signers(header: BlockHeader, cert: CommitCertificate, validators: ValidatorSet) -> int:
    if not isinstance(header, BlockHeader) or not isinstance(cert, CommitCertificate):
        return 0
    if header.chain_id != validators.chain_id or not _is_count(cert.view):
        return 0
    if not isinstance(cert.signatures, (list, tuple)):
        return 0
    message = commit_vote_bytes(header.chain_id, cert.view, header.height, header.hash())
    good: set[str] = set()
    for item in cert.signatures:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            continue
        validator_id, sig_hex = item
        if not isinstance(validator_id, str) or not isinstance(sig_hex, str) or validator_id in good:
            continue  # a validator is counted once, however often it appears
        key = validators.key(validator_id)
        if key is None:
            continue
        try:
            sig = bytes.fromhex(sig_hex)
        except ValueError:
            continue
        if key.verify(sig, message):
            good.add(validator_id)
    return len(good)


@dataclass(frozen=True)
class Block:
    """A header, its transactions (as dicts, in block order) and, once committed, its certificate.

    The header commits to the transactions through tx_root over their ids; ids leave out
    signatures (see ledger.chain.tx), so the certificate vouches for the bodies, and the signatures
    were checked by the replicas that committed them.
    """

    header: BlockHeader
    txs: tuple[dict, ...] = ()
    certificate: CommitCertificate | None = None

    @classmethod
    def create(
        cls,
        *,
        chain_id: str,
        height: int,
        prev_hash: str,
        timestamp_ms: int,
        txs: Iterable[dict | Transaction],
        state_root: str,
        view: int,
        proposer: str,
    ) -> "Block":
        """A block whose tx_root and tx_count are computed from `txs`."""
        dicts = tuple(t.to_dict() if isinstance(t, Transaction) else t for t in txs)
        ids = [Transaction.from_dict(t).id for t in dicts]
        header = BlockHeader(
            chain_id=chain_id,
            height=height,
            prev_hash=prev_hash,
            timestamp_ms=timestamp_ms,
            tx_root=tx_root(ids),
            tx_count=len(ids),
            state_root=state_root,
            view=view,
            proposer=proposer,
        )
        return cls(header=header, txs=dicts)

    def hash(self) -> str:
        return self.header.hash()

    def transactions(self) -> list[Transaction]:
        """The parsed transactions; TxFormatError for a malformed one."""
        cached = self.__dict__.get("_transactions")
        if cached is None:
            cached = [Transaction.from_dict(t) for t in self.txs]
            object.__setattr__(self, "_transactions", cached)
        return list(cached)

    def tx_ids(self) -> list[str]:
        return [t.id for t in self.transactions()]

    def tree(self) -> MerkleTree:
        """Built once per block: proofs for many of its transactions share it."""
        cached = self.__dict__.get("_tree")
        if cached is None:
            cached = tx_tree(self.tx_ids())
            object.__setattr__(self, "_tree", cached)
        return cached

    def body_problem(self) -> str | None:
        """Why the transactions do not match the header, or None when they do."""
        problem = header_problem(self.header)
        if problem:
            return f"header: {problem}"
        if not isinstance(self.txs, (list, tuple)):
            return "txs must be a list"
        if len(self.txs) != self.header.tx_count:
            return f"tx_count is {self.header.tx_count} but the block holds {len(self.txs)} transactions"
        try:
            txs = self.transactions()
        except (TxFormatError, TypeError) as exc:
            return f"malformed transaction: {exc}"
        if any(t.chain_id != self.header.chain_id for t in txs):
            return "a transaction belongs to another chain"
        ids = [t.id for t in txs]
        if len(set(ids)) != len(ids):
            return "a transaction appears twice"
        if self.tree().root.hex() != self.header.tx_root:
            return "tx_root does not match the transactions"
        return None

    def verify_body(self) -> bool:
        try:
            return self.body_problem() is None
        except Exception:  # a block from a peer may be malformed in any way
            return False

    def verify(self, validators: ValidatorSet) -> bool:
        """Body matches header and the certificate proves the header committed."""
        return (
            self.certificate is not None
            and self.verify_body()
            and verify_commit_certificate(self.header, self.certificate, validators)
        )

    def with_certificate(self, certificate: CommitCertificate) -> "Block":
        return Block(header=self.header, txs=self.txs, certificate=certificate)

    def to_dict(self) -> dict:
        return {
            "header": self.header.to_dict(),
            "txs": [dict(t) for t in self.txs],
            "certificate": self.certificate.to_dict() if self.certificate else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> "Block":
        """Parse the shape; call verify_body() to check the contents against the header."""
        _expect_fields(data, {"header", "txs", "certificate"}, "block")
        if not isinstance(data["txs"], list) or not all(isinstance(t, dict) for t in data["txs"]):
            raise BlockFormatError("txs must be a list of transaction objects")
        header = BlockHeader.from_dict(data["header"])
        cert = None if data["certificate"] is None else CommitCertificate.from_dict(data["certificate"])
        return cls(header=header, txs=tuple(data["txs"]), certificate=cert)
