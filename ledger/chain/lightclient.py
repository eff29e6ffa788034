"""SPV for light nodes (piles, field test boxes) and third parties.

A light client trusts the consortium's public keys (a ValidatorSet) and one anchor: the hash of the
genesis header or of a checkpoint header obtained out of band. It accepts a header only when a quorum
of validators signed COMMIT for it and it chains to what it already holds (prev_hash, next height),
so no single node that serves headers can make it accept a block the consortium did not commit. A
receipt then proves a transaction is in a held header: the Merkle audit path reproduces tx_root for
a tree of exactly tx_count leaves (the size comes from the signed header, never from the prover).

Every check answers with a Verdict and never raises, whatever it is fed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ledger.chain.block import (
    Block,
    BlockHeader,
    CommitCertificate,
    ValidatorSet,
    header_problem,
    verify_commit_certificate,
)
from ledger.chain.merkle import proof_from_hex, proof_to_hex, verify_leaf_inclusion
from ledger.chain.tx import Transaction

HASH_HEX_LEN = 64


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    code: str = "ok"  # stable, for programs: ok, malformed, wrong_chain, anchor_mismatch, before_anchor,
    # height_gap, broken_link, bad_certificate, conflict, unknown_height, tx_mismatch,
    # tx_count_mismatch, bad_proof

    def __bool__(self) -> bool:
        return self.ok


def _ok(reason: str) -> Verdict:
    return Verdict(True, reason, "ok")


def _fail(code: str, reason: str) -> Verdict:
    return Verdict(False, reason, code)


@dataclass(frozen=True)
class Anchor:
    """A header hash trusted without a certificate: genesis, or a checkpoint from a trusted source."""

    height: int
    hash: str

    @classmethod
    def genesis(cls, genesis_hash: str) -> "Anchor":
        return cls(0, genesis_hash)

    @classmethod
    def of(cls, header: BlockHeader) -> "Anchor":
        return cls(header.height, header.hash())

    def to_dict(self) -> dict:
        return {"height": self.height, "hash": self.hash}

    @classmethod
    def from_dict(cls, data: Any) -> "Anchor":
        if not isinstance(data, dict) or set(data) != {"height", "hash"}:
            raise ValueError("an anchor is {height, hash}")
        anchor = cls(data["height"], data["hash"])
        if not anchor.well_formed():
            raise ValueError("anchor height must be a non-negative integer and hash 64 lower-case hex")
        return anchor

    def well_formed(self) -> bool:
        return _is_count(self.height) and _is_hash_hex(self.hash)


@dataclass(frozen=True)
class Receipt:
    """Evidence that transaction `tx_id` is leaf `index` of the block at `height`, which holds
    `tx_count` transactions. `proof` is the audit path as hex strings, nearest sibling first.
    `tx` optionally carries the transaction itself, for a verifier that wants its content."""

    tx_id: str
    height: int
    index: int
    tx_count: int
    proof: tuple[str, ...]
    tx: dict | None = None

    def to_dict(self) -> dict:
        data = {
            "tx_id": self.tx_id,
            "height": self.height,
            "index": self.index,
            "tx_count": self.tx_count,
            "proof": list(self.proof),
        }
        if self.tx is not None:
            data["tx"] = self.tx
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "Receipt":
        """Strict: exactly the fields above; `tx_id` may be left out when `tx` is given."""
        if not isinstance(data, dict):
            raise ValueError("a receipt is a JSON object")
        required = {"height", "index", "tx_count", "proof"}
        allowed = required | {"tx_id", "tx"}
        if not required <= set(data) <= allowed or not ({"tx_id", "tx"} & set(data)):
            raise ValueError(f"a receipt has the fields {sorted(allowed)} (tx_id or tx or both)")
        tx = data.get("tx")
        tx_id = data.get("tx_id")
        if tx is not None:
            derived = Transaction.from_dict(tx).id
            if tx_id is not None and tx_id != derived:
                raise ValueError("tx_id is not the id of tx")
            tx_id = derived
        for name in ("height", "index", "tx_count"):
            if not _is_count(data[name]):
                raise ValueError(f"{name} must be a non-negative integer")
        if not _is_hash_hex(tx_id):
            raise ValueError("tx_id must be 64 lower-case hex characters")
        proof_from_hex(data["proof"])  # shape check
        return cls(tx_id, data["height"], data["index"], data["tx_count"], tuple(data["proof"]), tx)


def make_receipt(block: Block, which: int | str) -> Receipt:
    """A receipt for the transaction at position `which` (int) or with id `which` (str)."""
    ids = block.tx_ids()
    index = ids.index(which) if isinstance(which, str) else which
    return _receipt(block, ids, index)


def receipts_for_block(block: Block) -> list[Receipt]:
    """One receipt per transaction, from one tree."""
    ids = block.tx_ids()
    return [_receipt(block, ids, i) for i in range(len(ids))]


def _receipt(block: Block, ids: list[str], index: int) -> Receipt:
    return Receipt(
        tx_id=ids[index],
        height=block.header.height,
        index=index,
        tx_count=len(ids),
        proof=tuple(proof_to_hex(block.tree().inclusion_proof(index))),
    )


def check_receipt(header: BlockHeader, receipt: Receipt | dict, tx: Transaction | dict | None = None) -> Verdict:
    """Does `receipt` prove inclusion in this header (which the caller already trusts)?"""
    try:
        return _check_receipt(header, receipt, tx)
    except Exception as exc:  # never raise on malformed input
        return _fail("malformed", f"malformed input: {type(exc).__name__}: {exc}")


def _check_receipt(header: BlockHeader, receipt: Receipt | dict, tx) -> Verdict:
    if not isinstance(receipt, Receipt):
        receipt = Receipt.from_dict(receipt)
    for candidate in (receipt.tx, tx):
        if candidate is None:
            continue
        parsed = candidate if isinstance(candidate, Transaction) else Transaction.from_dict(candidate)
        if parsed.id != receipt.tx_id:
            return _fail("tx_mismatch", "the transaction's id is not the receipt's tx_id")
        if parsed.chain_id != header.chain_id:
            return _fail("wrong_chain", "the transaction belongs to another chain")
    if receipt.height != header.height:
        return _fail("unknown_height", f"the receipt is for height {receipt.height}, not {header.height}")
    if receipt.tx_count != header.tx_count:
        return _fail("tx_count_mismatch", f"the block holds {header.tx_count} transactions, not {receipt.tx_count}")
    proof = proof_from_hex(list(receipt.proof))
    if not verify_leaf_inclusion(
        bytes.fromhex(receipt.tx_id), receipt.index, header.tx_count, proof, bytes.fromhex(header.tx_root)
    ):
        return _fail("bad_proof", "the proof does not reproduce the header's tx_root")
    return _ok(f"transaction {receipt.tx_id} is final at height {receipt.height}")


class LightClient:
    """A verified header chain, extended one committed header at a time (piles keep these).

    `keep` bounds memory: only the newest `keep` headers are held, so receipts for older blocks
    can no longer be checked; the tip always stays, since the next header must link to it.
    """

    def __init__(self, validators: ValidatorSet, anchor: Anchor | BlockHeader, *, keep: int | None = None):
        if not isinstance(validators, ValidatorSet):
            raise TypeError("validators must be a ValidatorSet")
        if keep is not None and (not _is_count(keep) or keep < 1):
            raise ValueError("keep must be a positive integer")
        self.validators = validators
        self.keep = keep
        self._headers: dict[int, BlockHeader] = {}
        if isinstance(anchor, BlockHeader):
            problem = header_problem(anchor)
            if problem:
                raise ValueError(f"anchor header: {problem}")
            if anchor.chain_id != validators.chain_id:
                raise ValueError("anchor header belongs to another chain")
            self.anchor = Anchor.of(anchor)
            self._headers[anchor.height] = anchor
        elif isinstance(anchor, Anchor) and anchor.well_formed():
            self.anchor = anchor
        else:
            raise ValueError("anchor must be an Anchor(height, hash) or a BlockHeader")
        self._tip_height = self.anchor.height
        self._tip_hash = self.anchor.hash

    @property
    def tip_height(self) -> int:
        return self._tip_height

    @property
    def tip_hash(self) -> str:
        return self._tip_hash

    def header(self, height: int) -> BlockHeader | None:
        return self._headers.get(height)

    def headers(self) -> list[BlockHeader]:
        return [self._headers[h] for h in sorted(self._headers)]

    def add(self, header: BlockHeader | dict, certificate: CommitCertificate | dict | None = None) -> Verdict:
        """Accept the next header if a quorum committed it and it links to the tip."""
        try:
            return self._add(header, certificate)
        except Exception as exc:  # never raise on malformed input
            return _fail("malformed", f"malformed input: {type(exc).__name__}: {exc}")

    def extend(self, pairs: Iterable[tuple[BlockHeader | dict, CommitCertificate | dict | None]]) -> Verdict:
        """Add (header, certificate) pairs in order; stops at, and reports, the first failure."""
        try:
            items = list(pairs)
        except Exception as exc:
            return _fail("malformed", f"malformed input: {type(exc).__name__}: {exc}")
        verdict = _ok(f"tip at height {self.tip_height}")
        for item in items:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                return _fail("malformed", "expected (header, certificate) pairs")
            verdict = self.add(item[0], item[1])
            if not verdict.ok:
                return verdict
        return verdict

    def verify_receipt(self, receipt: Receipt | dict, tx: Transaction | dict | None = None) -> Verdict:
        """Is the receipt's transaction in a header this client holds?"""
        try:
            receipt = receipt if isinstance(receipt, Receipt) else Receipt.from_dict(receipt)
            header = self._headers.get(receipt.height) if _is_count(receipt.height) else None
        except Exception as exc:  # never raise on malformed input
            return _fail("malformed", f"malformed receipt: {type(exc).__name__}: {exc}")
        if header is None:
            return _fail("unknown_height", f"no verified header at height {receipt.height!r}")
        return check_receipt(header, receipt, tx)

    def _add(self, header, certificate) -> Verdict:
        header = header if isinstance(header, BlockHeader) else BlockHeader.from_dict(header)
        if certificate is not None and not isinstance(certificate, CommitCertificate):
            certificate = CommitCertificate.from_dict(certificate)
        problem = header_problem(header)
        if problem:
            return _fail("malformed", f"header: {problem}")
        if header.chain_id != self.validators.chain_id:
            return _fail("wrong_chain", f"header of chain {header.chain_id!r}")
        height, digest = header.height, header.hash()

        if height < self.anchor.height:
            return _fail("before_anchor", f"height {height} is below the anchor at {self.anchor.height}")
        if height == self.anchor.height:
            # The anchor is trusted by its hash alone; a certificate adds nothing.
            if digest != self.anchor.hash:
                return _fail("anchor_mismatch", f"header at height {height} is not the trusted anchor")
            self._headers.setdefault(height, header)
            return _ok(f"anchor header at height {height}")
        if height <= self._tip_height:
            return self._known_height(header, certificate, digest)
        if height > self._tip_height + 1:
            return _fail("height_gap", f"header at height {height} does not follow the tip at {self._tip_height}")
        if header.prev_hash != self._tip_hash:
            return _fail("broken_link", f"header at height {height} does not link to the tip's hash")
        if certificate is None or not verify_commit_certificate(header, certificate, self.validators):
            return _fail("bad_certificate", f"header at height {height} lacks a valid commit certificate")
        self._headers[height] = header
        self._tip_height, self._tip_hash = height, digest
        self._forget_old()
        return _ok(f"header at height {height} is final")

    def _known_height(self, header: BlockHeader, certificate, digest: str) -> Verdict:
        held = self._headers.get(header.height)
        if held is None:
            return _fail("unknown_height", f"height {header.height} was forgotten; cannot compare")
        if held.hash() == digest:
            return _ok(f"header at height {header.height} already held")
        if certificate is not None and verify_commit_certificate(header, certificate, self.validators):
            # Two committed headers at one height: more than f validators misbehaved. Keep what we
            # hold and report it loudly; the pair is evidence for the consortium.
            return _fail("conflict", f"a second committed header at height {header.height}")
        return _fail("bad_certificate", f"a different header at height {header.height} without a valid certificate")

    def _forget_old(self) -> None:
        if self.keep is None:
            return
        for height in [h for h in self._headers if h <= self._tip_height - self.keep]:
            del self._headers[height]


def verify_header_chain(
    validators: ValidatorSet,
    anchor: Anchor | BlockHeader,
    headers: Iterable[tuple[BlockHeader | dict, CommitCertificate | dict | None]],
) -> Verdict:
    """Do `headers` form a committed chain from `anchor`? They may start with the anchor header."""
    try:
        client = LightClient(validators, anchor)
    except Exception as exc:
        return _fail("malformed", f"bad trust root: {exc}")
    return client.extend(headers)


def verify_receipt(
    validators: ValidatorSet,
    anchor: Anchor | BlockHeader,
    headers: Iterable[tuple[BlockHeader | dict, CommitCertificate | dict | None]],
    receipt: Receipt | dict,
    tx: Transaction | dict | None = None,
) -> Verdict:
    """Is the receipt's transaction final? Checks the header chain from the anchor, then the proof."""
    try:
        client = LightClient(validators, anchor)
    except Exception as exc:
        return _fail("malformed", f"bad trust root: {exc}")
    verdict = client.extend(headers)
    if not verdict.ok:
        return verdict
    return client.verify_receipt(receipt, tx)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash_hex(value: Any) -> bool:
    return isinstance(value, str) and len(value) == HASH_HEX_LEN and all(c in "0123456789abcdef" for c in value)
