"""One institution node inside the test process, with every member's key at hand.

`configure_node` writes a consortium definition (deterministic keys) and the key files, and makes
this process the node of one member that also holds the other members' signing keys ("hosted"), so
services can sign for whichever institution the acting user belongs to.

`commit_pending` turns the pending submissions into the next block as the replica would (same
header fields, transactions in submission order, every signature checked) and stores it with a
commit certificate signed by every validator, then applies it: contracts, state root and audit
digest run exactly as on a running node. Consensus itself is tested in tests/ledger/pbft and, with
real processes, in tests/consortium.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from ledger import node_keys
from ledger.chain.block import ZERO_HASH, BlockHeader, CommitCertificate, tx_root
from ledger.chain.crypto import SigningKey
from ledger.chain.sealed import X25519KeyPair
from ledger.chain.tx import Transaction
from ledger.execution import AppliedBlock, apply_next_blocks, node_state, store_block
from ledger.models import Block, CommittedTx, Submission, TxStatus
from ledger.runtime import node
from ledger.signers import lookup_scope, signer_problem

CHAIN_ID = "pilechain-test"


def member_keys(index: int) -> tuple[SigningKey, X25519KeyPair]:
    seed = bytes([0xA0 + index]) * 32
    return SigningKey.from_seed(seed), X25519KeyPair.from_hex(bytes([0x50 + index]).hex() * 32)


def configure_node(*, settings, monkeypatch, directory: Path, members: dict[str, tuple[str, str]], me: str,
                   intervals: dict | None = None) -> dict:
    """members: code -> (name, role); intervals: the definition's agreed intervals (defaults otherwise).
    Returns code -> SigningKey."""
    keys = {}
    definition = {"chain_id": CHAIN_ID, "checkpoint_interval": 16, "genesis_time_ms": 0, "timeouts": {}, "members": [],
                  "intervals": intervals or {}}
    for index, (code, (name, role)) in enumerate(members.items()):
        signing, encryption = member_keys(index)
        keys[code] = signing
        definition["members"].append({
            "code": code, "name": name, "role": role, "url": f"http://127.0.0.1:{9100 + index}",
            "signing_key": signing.public_key.hex, "encryption_key": encryption.public_hex(),
        })
    path = directory / "consortium.json"
    path.write_text(json.dumps(definition))
    keys_dir = directory / "keys"
    keys_dir.mkdir(exist_ok=True)
    node_keys._write_private(keys_dir / node_keys.SIGNING_FILE, keys[me].to_pem())
    _, my_encryption = member_keys(list(members).index(me))
    node_keys._write_private(keys_dir / node_keys.ENCRYPTION_FILE, my_encryption.private_hex() + "\n")
    for code, key in keys.items():
        if code != me:
            node_keys.write_hosted(code, key, keys_dir)
    monkeypatch.setenv("PILECHAIN_KEYS_DIR", str(keys_dir))
    settings.LEDGER_CONSORTIUM_FILE = path
    settings.NODE_CODE = me
    node.reset_caches()
    return keys


def commit_pending(*, at: dt.datetime | None = None, keys: dict | None = None) -> AppliedBlock | None:
    """Commit every pending submission in one block and apply it; None when nothing is pending."""
    pending = list(Submission.objects.filter(status=TxStatus.PENDING).order_by("submitted_at", "pk"))
    if not pending:
        return None
    definition = node.consortium()
    validators = definition.validators()
    txs = []
    with lookup_scope():
        for submission in pending:
            tx = Transaction.from_dict(submission.body)
            problem = signer_problem(tx, validators.key)
            assert problem is None, f"a replica would refuse {tx.type}: {problem}"
            txs.append(tx)
    tip = Block.objects.order_by("-height").first()
    previous_ms = tip.timestamp_ms if tip else definition.genesis_time_ms
    when = at or dt.datetime.now(dt.timezone.utc)
    timestamp_ms = max(int(when.timestamp() * 1000), previous_ms + 1)
    header = BlockHeader(
        chain_id=definition.chain_id,
        height=(tip.height if tip else 0) + 1,
        prev_hash=tip.hash if tip else ZERO_HASH,
        timestamp_ms=timestamp_ms,
        tx_root=tx_root([t.id for t in txs]),
        tx_count=len(txs),
        state_root=node_state().state_root,
        view=0,
        proposer=validators.primary(0),
    )
    signing = keys or {code: node.signing_key_for(code) for code in validators.ids()}
    certificate = CommitCertificate.build(header, 0, signing)
    Submission.objects.filter(pk__in=[s.pk for s in pending]).update(proposed=True)
    store_block(header=header, transactions=txs, certificate=certificate)
    [applied] = apply_next_blocks(role_of=node.role_of)
    return applied


def commit_all(**kwargs) -> list[AppliedBlock]:
    """Commit until nothing is pending (a contract may not queue more, but a callback might)."""
    done = []
    while (block := commit_pending(**kwargs)) is not None:
        done.append(block)
        if len(done) > 50:
            raise RuntimeError("submissions keep arriving")
    return done


def assert_never_on_ledger(*secrets: str) -> None:
    """Fail if any of `secrets` appears in a committed transaction (the blocks' signed bodies, every
    committed or rejected transaction) or a pending submission of this node."""
    bodies = [json.dumps(txs) for txs in Block.objects.values_list("txs", flat=True)]
    bodies += [json.dumps(body) for body in CommittedTx.objects.values_list("body", flat=True)]
    bodies += [json.dumps(body) for body in Submission.objects.values_list("body", flat=True)]
    assert bodies, "no transaction to scan"
    for secret in secrets:
        found = [body[:200] for body in bodies if secret in body]
        assert not found, f"{secret!r} is on the ledger: {found[0]}"
