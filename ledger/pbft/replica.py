"""The PBFT replica: a pure state machine in the shape of etcd-io/raft's RawNode.

Inputs: `propose(tx)`, `step(bytes)`, `tick(now_ms)`, `applied(height, state_root)`.
Output: `ready()` -> what to persist, the messages to send, the blocks committed and the state
requests to answer; `advance()` acknowledges it. The runtime persists first, then sends, then
applies. No I/O, no clock (time arrives as ticks and the runtime's clock reading), no randomness.

Ordering is one block in flight: height h is proposed (and validated by a backup) only after the
application has applied h-1, because the header carries the state root before the block.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ledger.chain.block import ZERO_HASH, BlockHeader, CommitCertificate, tx_root
from ledger.chain.encoding import EncodingError, canonical
from ledger.chain.encoding import decode as decode_canonical
from ledger.chain.tx import Transaction, TxFormatError
from ledger.pbft import messages as m
from ledger.pbft.config import ReplicaConfig
from ledger.pbft.log import CommittedBlock, Proposal, Slot, body_matches_header, proposal_of
from ledger.pbft.statetransfer import StateRequest, check_blocks, fetch_body
from ledger.pbft.viewchange import (
    GENESIS,
    NULL_TXS_DIGEST,
    Checkpoint,
    InvalidViewChange,
    check_newview,
    check_viewchange,
    newview_body,
    plan_new_view,
    preprepare_body,
    prepared_certificates,
    reproposal_body,
    viewchange_body,
)

SMALL_MESSAGE = 4096  # signature results are cached for messages up to this size
MAX_CHECKPOINTS_PER_SENDER = 4
MAX_EVENTS = 1000  # recent transitions kept for transcripts and debugging
MAX_DOUBLINGS = 4  # the view-change timeout doubles per failed attempt, up to 16x
BAD_INPUT = (m.MessageError, InvalidViewChange, EncodingError, TxFormatError)


@dataclass
class Ready:
    persist: list = field(default_factory=list)  # [(key, bytes | None)], one atomic write set
    messages: list = field(default_factory=list)  # [messages.Outgoing]
    committed: list = field(default_factory=list)  # [log.CommittedBlock], in height order
    state_requests: list = field(default_factory=list)  # [statetransfer.StateRequest]

    def __bool__(self):
        return bool(self.persist or self.messages or self.committed or self.state_requests)


def _block_key(h: int) -> str:
    return f"block/{h:012d}"


def _log_key(h: int, v: int, what: str) -> str:
    return f"log/{h:012d}/{v:010d}/{what}"


def _checkpoint_key(h: int) -> str:
    return f"checkpoint/{h:012d}"


class Replica:
    def __init__(self, config: ReplicaConfig):
        self.cfg = config
        self.id = config.replica_id
        self.vs = config.validators
        self.key = config.signing_key
        self.chain = config.chain_id
        self.view = 0
        self.active = True  # False while collecting VIEW-CHANGEs for self.view
        self.vc_attempts = 0
        self.stable = GENESIS
        self.stable_proof: list[m.Envelope] = []
        self.committed_height = 0
        self.tip_hash = ZERO_HASH
        self.tip_ts = 0  # timestamp of the last non-null block
        self.committed_hashes: dict[int, str] = {0: ZERO_HASH}
        self.committed_txids: set[str] = set()
        self.applied_height: int | None = 0
        self.applied_root = config.genesis_state_root
        self.slots: dict[tuple[int, int], Slot] = {}
        self.pending: dict[str, tuple[Transaction, dict]] = {}  # in arrival order: the first is the oldest
        self.pending_since: int | None = None
        self.ticks = 0
        self.now_ms = 0
        # The request timer runs for the oldest pending request (timed_request) and restarts only when
        # that request leaves `pending`. Its first expiry re-broadcasts the pending requests; the next
        # one for the same request (suspected) starts a view change.
        self.request_deadline: int | None = None
        self.timed_request: str | None = None
        self.suspected: str | None = None
        self.vc_deadline: int | None = None
        self.next_status = config.status_interval_ticks
        self.next_heartbeat = config.heartbeat_ticks
        self.vc_latest: dict = {}  # sender -> viewchange.ViewChangeInfo of its latest VIEW-CHANGE
        self.my_vc: m.Envelope | None = None
        self.newview_env: m.Envelope | None = None
        self.checkpoint_votes: dict[int, dict[str, m.Envelope]] = {}
        self.my_checkpoints: dict[int, m.Envelope] = {}  # our CHECKPOINTs above the stable one, re-sent
        self.peer_heights: dict[str, int] = {}
        self.status_replied: dict[str, int] = {}  # peer -> tick we last answered its STATUS
        self.fetch_target = 0
        self.fetch_deadline: int | None = None
        self.fetch_turn = 0
        self.body_deadline: int | None = None  # when to ask again for re-proposed bodies still missing
        self.body_turn = 0
        self.dropped: Counter = Counter()
        self.events: list = []  # (tick, text) of notable transitions, for transcripts
        self._sig_ok: dict[bytes, str | None] = {}
        self._tx_ok: set[tuple[str, str]] = set()  # requests found valid on the state at _tx_ok_at
        self._tx_ok_at: int | None = 0
        self._ready = Ready()
        self._handed = (0, 0, 0, 0)

    # ------------------------------------------------------------------ inputs

    def propose(self, tx: Transaction) -> bool:
        """A request submitted at this node. False when refused (bad signature, duplicate, wrong chain)."""
        if not self._admit(tx, tx.to_dict()):
            return False
        if self.vs.primary(self.view) != self.id or not self.active:
            env = self._sign({"t": m.REQUEST, "txs": [tx.to_dict()]})
            self._send(self.cfg.peers(), env)
        self._progress()
        return True

    def step(self, data: bytes) -> None:
        try:
            env = m.decode(data)
        except m.MessageError:
            self._drop("malformed")
            return
        if env.sender == self.id and env.kind != m.CHECKPOINT:  # our own checkpoint can come back in a proof
            self._drop("from_self")
            return
        reason = self._verify(env)
        if reason is not None:
            self._drop(reason)
            return
        try:
            getattr(self, "_on_" + env.kind)(env)
        except BAD_INPUT:
            self._drop("malformed")
        self._progress()

    def tick(self, now_ms: int) -> None:
        self.ticks += 1
        self.now_ms = now_ms
        if self.active and self.request_deadline is not None and self.ticks >= self.request_deadline:
            self._request_timer_expired()
        elif not self.active and self.vc_deadline is not None and self.ticks >= self.vc_deadline:
            self._note(f"view change to v{self.view} timed out")
            self._start_view_change(self.view + 1)
        elif not self.active and self.vc_deadline is None and self.pending:
            # Waiting alone in a view change (no quorum has given up on the old view yet): keep
            # offering the pending requests, so that the peers that never saw them time out too.
            if self.request_deadline is None:
                self.request_deadline = self.ticks + self._request_timeout()
            elif self.ticks >= self.request_deadline:
                self._note(f"alone in the change to v{self.view}: re-broadcasting {len(self.pending)} requests")
                self._rebroadcast()
                self.request_deadline = self.ticks + self._request_timeout()
        if self.ticks >= self.next_status:
            self.next_status = self.ticks + self.cfg.status_interval_ticks
            # A replica waiting for something asks often; an idle one only now and then, which is how
            # one that missed the last blocks (crashed, cut off) learns that it is behind.
            waiting = (not self.active or self.pending or self.fetch_target > self.committed_height
                       or self.my_checkpoints)
            if waiting or self.ticks >= self.next_heartbeat:
                self.next_heartbeat = self.ticks + self.cfg.heartbeat_ticks
                self._send_status(self.cfg.peers())
        self._maybe_fetch()
        self._maybe_refetch_bodies()
        self._progress()

    def applied(self, height: int, state_root: str) -> None:
        """The application applied blocks up to `height`; its state root is now `state_root`."""
        if height > self.committed_height:
            raise ValueError("applied a block that was never committed")
        if self.applied_height is not None and height < self.applied_height:
            return
        self.applied_height, self.applied_root = height, state_root
        k = self.cfg.checkpoint_interval
        if height > self.stable.height and height % k == 0:
            body = {"t": m.CHECKPOINT, "height": height, "block": self.committed_hashes[height],
                    "state_root": state_root}
            env = self._sign(body)
            self.my_checkpoints[height] = env
            self._persist(_checkpoint_key(height), env.wire)
            self._send(self.cfg.peers(), env)
            self._on_checkpoint(env)
        self._progress()

    # ------------------------------------------------------------------ outputs

    def ready(self) -> Ready:
        r = self._ready
        self._handed = (len(r.persist), len(r.messages), len(r.committed), len(r.state_requests))
        return Ready(list(r.persist), list(r.messages), list(r.committed), list(r.state_requests))

    def has_ready(self) -> bool:
        return bool(self._ready)

    def idle(self) -> bool:
        """Nothing a tick would time: an active view, no request waiting, no block in flight, none
        committed and not applied, nothing to fetch, no checkpoint of ours waiting to become stable.
        Its runtime may then tick less often (ticks are caught up; any message wakes it)."""
        return (self.active and not self.pending and self.request_deadline is None and self.vc_deadline is None
                and self.fetch_deadline is None and self.body_deadline is None
                and self.fetch_target <= self.committed_height and self.applied_height == self.committed_height
                and not self.my_checkpoints and not any(seq > self.committed_height for _, seq in self.slots)
                and not self._ready)

    def advance(self) -> None:
        r, (p, s, c, q) = self._ready, self._handed
        del r.persist[:p], r.messages[:s], r.committed[:c], r.state_requests[:q]
        self._handed = (0, 0, 0, 0)

    # ------------------------------------------------------------------ restart

    @classmethod
    def restore(cls, config: ReplicaConfig, stored: dict) -> "Replica":
        """A replica rebuilt from the key-value pairs its ready() asked to persist. The runtime then
        reports its application's state with applied() before the replica proposes or validates."""
        r = cls(config)
        r.applied_height = None
        r.next_status = r.next_heartbeat = 0  # ask peers where they are on the first tick
        if "view" in stored:
            v = decode_canonical(stored["view"])
            r.view, r.active = v["view"], v["active"]
        if "stable" in stored:
            s = decode_canonical(stored["stable"])
            r.stable = Checkpoint(**s["checkpoint"])
            r.stable_proof = [m.unembed(x) for x in s["proof"]]
        if "newview" in stored:
            r.newview_env = m.decode(stored["newview"])
        for key in sorted(stored):
            value = stored[key]
            if key.startswith("block/"):
                b = decode_canonical(value)
                h = int(key[6:])
                r.committed_hashes[h] = b["hash"]
                r.committed_txids.update(b["txids"])
                if h > r.committed_height:
                    r.committed_height, r.tip_hash = h, b["hash"]
                if b["ts"]:
                    r.tip_ts = max(r.tip_ts, b["ts"])
            elif key.startswith("checkpoint/"):
                env = m.decode(value)
                h = env.body["height"]
                if h > r.stable.height:  # our own CHECKPOINT, not stable yet: keep re-sending it
                    r.my_checkpoints[h] = env
                    r.checkpoint_votes.setdefault(h, {})[r.id] = env
                else:
                    r._persist(key, None)
            elif key.startswith("log/"):
                _, h, v, what = key.split("/", 3)
                slot = r._slot(int(v), int(h))
                if what == "pp":
                    # A re-proposal still waiting for its body was stored in its digest form.
                    slot.preprepare = m.decode(value[1:], digest_form_ok=True)
                    slot.reproposal = value[:1] == b"R"
                    # Our own fresh proposal, or a block we already sent PREPARE for, was checked before.
                    own = slot.preprepare.sender == r.id and not slot.reproposal
                    slot.validated = slot.validated or own
                    if slot.preprepare.is_digest_form:
                        slot.awaiting_body, slot.validated = True, None
                else:
                    env = m.decode(value)
                    slot.prepares[env.sender] = env
                    if env.sender == r.id:
                        slot.sent_prepare = slot.validated = True
        if not r.active:
            r._start_view_change(r.view, resend=True)
        else:
            r._fetch_missing_bodies()
        return r

    # ------------------------------------------------------------------ message handlers

    def _on_request(self, env: m.Envelope) -> None:
        for data in env.body["txs"]:
            try:
                tx = Transaction.from_dict(data)
            except (TxFormatError, TypeError):
                self._drop("bad_request")
                continue
            self._admit(tx, data)

    def _on_preprepare(self, env: m.Envelope) -> None:
        v, h = env.body["view"], env.body["height"]
        if not self._acceptable(v, h):
            return
        if env.sender != self.vs.primary(v):
            self._drop("not_primary")
            return
        slot = self._slot(v, h)
        if slot.preprepare is not None:
            self._drop("duplicate" if slot.preprepare.wire == env.wire else "equivocation")
            return
        proposal_of(env)  # refuse a malformed block before it takes the slot
        slot.preprepare = env
        self._persist(_log_key(h, v, "pp"), b"F" + env.wire)

    def _on_prepare(self, env: m.Envelope) -> None:
        v, h = env.body["view"], env.body["height"]
        if not self._acceptable(v, h):
            return
        if env.sender == self.vs.primary(v):
            self._drop("not_backup")
            return
        slot = self._slot(v, h)
        old = slot.prepares.get(env.sender)
        if old is not None:
            self._drop("duplicate" if old.body["block"] == env.body["block"] else "equivocation")
            return
        slot.prepares[env.sender] = env
        # Prepares form the certificate a later VIEW-CHANGE must carry, so they survive a crash.
        self._persist(_log_key(h, v, "p/" + env.sender), env.wire)

    def _on_commit(self, env: m.Envelope) -> None:
        v, h = env.body["view"], env.body["height"]
        if not self._acceptable(v, h):
            return
        slot = self._slot(v, h)
        old = slot.commits.get(env.sender)
        if old is not None:
            self._drop("duplicate" if old.body["block"] == env.body["block"] else "equivocation")
            return
        slot.commits[env.sender] = env

    def _on_checkpoint(self, env: m.Envelope) -> None:
        h = env.body["height"]
        if h <= self.stable.height:
            self._drop("stale")
            return
        if h % self.cfg.checkpoint_interval:
            self._drop("malformed")
            return
        votes = self.checkpoint_votes.setdefault(h, {})
        if env.sender in votes:
            self._drop("duplicate")
            return
        votes[env.sender] = env
        # Checkpoints far above our window are how a lagging replica learns where the others are, so
        # they are kept, but only the few highest per sender: a flood cannot grow this table.
        mine = sorted(k for k, v in self.checkpoint_votes.items() if env.sender in v)
        for old_h in mine[:-MAX_CHECKPOINTS_PER_SENDER]:
            del self.checkpoint_votes[old_h][env.sender]
            if not self.checkpoint_votes[old_h]:
                del self.checkpoint_votes[old_h]
        if h not in self.checkpoint_votes:
            return
        ref = (env.body["block"], env.body["state_root"])
        matching = [e for e in votes.values() if (e.body["block"], e.body["state_root"]) == ref]
        if len(matching) >= self.vs.quorum:
            self._set_stable(Checkpoint(h, *ref), matching)

    def _on_viewchange(self, env: m.Envelope) -> None:
        v = env.body["view"]
        if v < self.view or (v == self.view and self.active):
            self._drop("old_view")
            self._help_peer(env.sender, v, False)
            return
        old = self.vc_latest.get(env.sender)
        if old is not None and old.view >= v:
            self._drop("duplicate")
            return
        try:
            info = check_viewchange(env, self.vs, self._verify, self.cfg.window)
        except InvalidViewChange:
            self._drop("invalid_viewchange")
            return
        self.vc_latest[env.sender] = info
        higher = [i.view for s, i in self.vc_latest.items() if s != self.id and i.view > self.view]
        if len(higher) >= self.vs.f + 1:
            # f+1 replicas are already past us: at least one correct one timed out, follow it.
            self._note(f"pulled along to v{min(higher)} by {len(higher)} VIEW-CHANGEs")
            self._start_view_change(min(higher))
        self._arm_vc_timer()
        self._maybe_new_view()

    def _on_newview(self, env: m.Envelope) -> None:
        v = env.body["view"]
        if v < self.view or (v == self.view and self.active):
            self._drop("old_view")
            return
        try:
            _, start, start_info, pps = check_newview(env, self.vs, self._verify, self.cfg.window)
        except InvalidViewChange:
            self._drop("invalid_newview")
            return
        self._enter_view(v, env, start, start_info, pps)

    def _send_status(self, to) -> None:
        body = {"t": m.STATUS, "view": self.view, "active": self.active, "height": self.committed_height,
                "stable": self.stable.height}
        self._send(to, self._sign(body))

    def _on_status(self, env: m.Envelope) -> None:
        b = env.body
        self.peer_heights[env.sender] = b["height"]
        if self.ticks - self.status_replied.get(env.sender, -10**9) >= self.cfg.status_interval_ticks:
            self._help_peer(env.sender, b["view"], b["active"])
        behind = b["height"] < self.committed_height or (b["view"], b["active"]) < (self.view, self.active)
        stale_checkpoint = b["stable"] < self.stable.height
        # Our CHECKPOINTs above its stable one: it may have lost them, and a quorum of them is what
        # moves everyone's window (a CHECKPOINT is otherwise sent only once, when we apply its block).
        mine = [e for h, e in sorted(self.my_checkpoints.items()) if h > b["stable"]]
        last = self.status_replied.get(env.sender)
        # At most one answer per peer per interval: two peers each behind in a different sense (one
        # in height, the other in view) would otherwise answer each other forever.
        if (behind or stale_checkpoint or mine) and (last is None or self.ticks - last >= self.cfg.status_interval_ticks):
            self.status_replied[env.sender] = self.ticks
            if behind:
                self._send_status((env.sender,))  # tell a peer that is behind how far we are
            if stale_checkpoint:
                for proof in self.stable_proof:  # prove our stable checkpoint: its window can move
                    self._send((env.sender,), proof)
            for e in mine:
                self._send((env.sender,), e)
        if b["height"] > self.fetch_target and b["height"] > self.committed_height:
            # Fetched blocks prove themselves (certificates), so one peer's claim is enough to ask; a
            # liar costs one FETCH per timeout, and we ask the peers that claim to be ahead in turn.
            self.fetch_target = b["height"]
            self._maybe_fetch()

    def _on_fetch(self, env: m.Envelope) -> None:
        lo, hi = env.body["from_height"], env.body["to_height"]
        if lo < 1 or hi < lo:
            self._drop("malformed")
            return
        hi = min(hi, lo + self.cfg.fetch_max_blocks - 1, self.committed_height)
        if hi >= lo:
            self._ready.state_requests.append(StateRequest(env.sender, lo, hi))

    def _on_blocks(self, env: m.Envelope) -> None:
        blocks, refused = check_blocks(env, self.committed_height + 1, self.tip_hash, self.vs)
        if refused:
            self._drop("bad_blocks")
        elif not blocks:
            self._drop("stale")
        for block in blocks:
            self._commit_block(block, how=f"state transfer from {env.sender}")
        if blocks:
            self.fetch_deadline = None
            self._maybe_fetch()

    # ------------------------------------------------------------------ ordering

    def _acceptable(self, v: int, h: int) -> bool:
        if v < self.view:
            self._drop("old_view")
            return False
        if v > self.view + 2:
            self._drop("future_view")
            return False
        if not self.stable.height < h <= self.stable.height + self.cfg.window:
            self._drop("outside_window")
            return False
        return True

    def _progress(self) -> None:
        if not self.active:
            return
        self._maybe_propose()
        for h in range(self.stable.height + 1, self.committed_height + 2):
            slot = self.slots.get((self.view, h))
            if slot is not None and slot.preprepare is not None:
                self._advance_slot(slot)

    def _advance_slot(self, slot: Slot) -> None:
        h, primary = slot.height, self.vs.primary(self.view)
        if not slot.validated:
            if slot.sent_commit or slot.validated is None:
                return
            p = proposal_of(slot.preprepare)
            if h <= self.committed_height:
                # A re-proposal of a block this replica already committed: vote for it again so the
                # replicas that missed it can reach a quorum.
                if p.block_hash != self.committed_hashes.get(h):
                    return
            elif self.applied_height != self.committed_height:
                return  # wait for the application: the header's state root is checked below
            else:
                reason = self._check_block(slot)
                if reason is not None:
                    self._drop(reason)
                    slot.validated = None  # rejected for good
                    return
            slot.validated = True
        if not slot.sent_prepare and self.id != primary:
            env = self._sign({"t": m.PREPARE, "view": slot.view, "height": h, "block": slot.block_hash})
            slot.prepares[self.id] = env
            slot.sent_prepare = True
            self._persist(_log_key(h, slot.view, "p/" + self.id), env.wire)
            self._send(self.cfg.peers(), env)
        if not slot.sent_commit and slot.is_prepared(primary, self.vs.quorum):
            env = self._sign({"t": m.COMMIT, "view": slot.view, "height": h, "block": slot.block_hash})
            slot.commits[self.id] = env
            slot.sent_commit = True
            self._send(self.cfg.peers(), env)
        if slot.sent_commit and h == self.committed_height + 1:
            votes = sorted(slot.commit_votes(), key=lambda e: e.sender)
            if len(votes) >= self.vs.quorum:
                sigs = tuple((e.sender, e.sig.hex()) for e in votes[: self.vs.quorum])
                p = proposal_of(slot.preprepare)
                self._commit_block(CommittedBlock(p.header, p.txs, CommitCertificate(slot.view, sigs)),
                                   how=f"v{slot.view}")

    def _check_block(self, slot: Slot) -> str | None:
        """Why this replica refuses the block at committed_height + 1, or None."""
        p = proposal_of(slot.preprepare)
        hd = p.header
        if hd.chain_id != self.chain or hd.height != slot.height or hd.prev_hash != self.tip_hash:
            return "bad_header"
        if p.is_null:
            # Only a NEW-VIEW fills a gap, and a null block has no body: nothing else to check.
            return None if slot.reproposal and p.txs == () else "bad_null_block"
        if not p.txs and not slot.reproposal:
            return "empty_block"  # a correct primary proposes only when it has requests
        if not slot.reproposal:
            if hd.view != slot.view or hd.proposer != self.vs.primary(slot.view):
                return "bad_header"
            if abs(hd.timestamp_ms - self.now_ms) > self.cfg.timestamp_tolerance_ms:
                return "bad_timestamp"
        if hd.timestamp_ms <= self.tip_ts:
            return "bad_timestamp"
        if hd.state_root != self.applied_root:
            return "bad_state_root"
        if not body_matches_header(p):
            return "bad_tx_root"
        seen: set[str] = set()
        for tx in p.txs:
            if tx.id in seen or tx.id in self.committed_txids:
                return "duplicate_tx"
            seen.add(tx.id)
            if not self._tx_valid(tx):
                return "bad_request"
        return None

    def _maybe_propose(self) -> None:
        if self.vs.primary(self.view) != self.id or self.applied_height != self.committed_height:
            return
        h = self.committed_height + 1
        if not self.pending or h > self.stable.height + self.cfg.window:
            return
        slot = self.slots.get((self.view, h))
        if slot is not None and slot.preprepare is not None:
            return
        if len(self.pending) < self.cfg.batch_max and self.ticks - self.pending_since < self.cfg.batch_wait_ticks:
            return
        batch = self._valid_pending(self.cfg.batch_max)
        if not batch:
            return
        header = BlockHeader(
            chain_id=self.chain, height=h, prev_hash=self.tip_hash,
            timestamp_ms=max(self.now_ms, self.tip_ts + 1),
            tx_root=tx_root([tx.id for tx, _ in batch]), tx_count=len(batch),
            state_root=self.applied_root, view=self.view, proposer=self.id,
        )
        env = self._sign(preprepare_body(self.chain, self.id, self.view, header, [d for _, d in batch]))
        env._proposal = Proposal(header, tuple(tx for tx, _ in batch), header.hash())  # no re-parsing our own
        self._propose_env(env)

    def _propose_env(self, env: m.Envelope) -> None:
        """Log and send one of this primary's PRE-PREPAREs (a seam for Byzantine test doubles)."""
        slot = self._slot(env.body["view"], env.body["height"])
        slot.preprepare, slot.validated = env, True
        self._persist(_log_key(slot.height, slot.view, "pp"), b"F" + env.wire)
        self._send(self.cfg.peers(), env)

    def _commit_block(self, block: CommittedBlock, how: str) -> None:
        h = block.height
        block_hash = block.block_hash
        self.committed_height, self.tip_hash = h, block_hash
        if not (block.header.tx_count == 0 and block.header.timestamp_ms == 0):
            self.tip_ts = block.header.timestamp_ms
        self.committed_hashes[h] = block_hash
        ids = [tx.id for tx in block.txs]
        self.committed_txids.update(ids)
        for i in ids:
            self.pending.pop(i, None)
        if not self.pending:
            self.pending_since = None
        record = {"hash": block_hash, "ts": block.header.timestamp_ms, "txids": ids}
        self._persist(_block_key(h), canonical(record))
        self._ready.committed.append(block)
        self._note(f"committed h{h} {len(ids)}tx {block_hash[:8]} ({how})")
        if self.active and ids:
            self.vc_attempts = 0  # a request executed in this view: back to the base timeouts
        self._follow_oldest_request()

    def _admit(self, tx: Transaction, data: dict) -> bool:
        if tx.chain_id != self.chain or tx.id in self.committed_txids:
            return False
        if tx.id in self.pending:
            return True
        if not self._tx_valid(tx):
            self._drop("bad_request")
            return False
        self.pending[tx.id] = (tx, data)
        if self.pending_since is None:
            self.pending_since = self.ticks
        self._follow_oldest_request()
        return True

    # ------------------------------------------------------------------ request timer

    def _request_timeout(self) -> int:
        """The base timeout, doubled per view change since a request last executed (Castro-Liskov):
        a new view whose first commit takes longer than the base timeout must not be left at once."""
        return self.cfg.request_timeout_ticks * 2 ** min(self.vc_attempts, MAX_DOUBLINGS)

    def _follow_oldest_request(self) -> None:
        """Time the oldest pending request: a new oldest one starts the timer afresh, anything else
        (commits of other requests, the same request heard again) leaves it running."""
        oldest = next(iter(self.pending), None)
        if oldest == self.timed_request:
            return
        self.timed_request = oldest
        self.request_deadline = None if oldest is None else self.ticks + self._request_timeout()

    def _restart_request_timer(self) -> None:
        """A new view: the timer starts afresh for the oldest pending request, and a backup forwards
        its pending requests to the new primary, which may never have heard them (a forward lost, or
        a request it refused on the state it had then)."""
        self.timed_request = None
        self._follow_oldest_request()
        primary = self.vs.primary(self.view)
        if self.pending and primary != self.id:
            self._rebroadcast((primary,))

    def _request_timer_expired(self) -> None:
        """Forward, then suspect: the first expiry for the oldest request re-broadcasts every pending
        request (its forward may have been lost, or never sent by a node that restarted) and re-arms
        the timer; a second expiry for the same request starts a view change."""
        timed = self.timed_request
        self._valid_pending(len(self.pending))  # requests no longer valid are no reason to suspect anyone
        if self.timed_request != timed:
            return  # that request left: the timer has started afresh for the next one, if any
        if self.suspected != self.timed_request:
            self.suspected = self.timed_request
            self._note(f"request timer expired in v{self.view}: re-broadcasting {len(self.pending)} requests")
            self._rebroadcast()
            self.request_deadline = self.ticks + self._request_timeout()
            return
        self._note(f"request timer expired in v{self.view}")
        self._start_view_change(self.view + 1)

    def _rebroadcast(self, to=None) -> None:
        """Every pending request, in REQUEST messages of at most batch_max, to `to` (all peers)."""
        datas = [data for _, data in self.pending.values()]
        for i in range(0, len(datas), self.cfg.batch_max):
            self._send(to or self.cfg.peers(), self._sign({"t": m.REQUEST, "txs": datas[i : i + self.cfg.batch_max]}))

    def _valid_pending(self, limit: int) -> list[tuple[Transaction, dict]]:
        """Up to `limit` of the oldest pending requests, checked again on the current state; those no
        longer valid (a device key revoked since they were admitted) leave `pending`."""
        good, gone = [], []
        for tx_id, (tx, data) in self.pending.items():
            if len(good) >= limit:
                break
            if self._tx_valid(tx):
                good.append((tx, data))
            else:
                gone.append(tx_id)
        for tx_id in gone:
            del self.pending[tx_id]
            self._drop("invalid_pending")
            self._note(f"pending request {tx_id[:8]} no longer valid, dropped")
        if gone:
            if not self.pending:
                self.pending_since = None
            self._follow_oldest_request()
        return good

    # ------------------------------------------------------------------ checkpoints and state transfer

    def _set_stable(self, cp: Checkpoint, proof: list[m.Envelope]) -> None:
        if cp.height <= self.stable.height:
            return
        self.stable, self.stable_proof = cp, proof
        self._persist("stable", canonical({"checkpoint": cp.to_dict(), "proof": [m.embed(e) for e in proof]}))
        self._note(f"checkpoint h{cp.height} stable")
        for key in [k for k in self.slots if k[1] <= cp.height]:
            slot = self.slots.pop(key)
            self._forget_slot(slot)
        for h in [h for h in self.checkpoint_votes if h <= cp.height]:
            del self.checkpoint_votes[h]
        for h in [h for h in self.my_checkpoints if h <= cp.height]:
            del self.my_checkpoints[h]
            self._persist(_checkpoint_key(h), None)
        if self.committed_height < cp.height:
            self.fetch_target = max(self.fetch_target, cp.height)
            self._maybe_fetch()

    def _forget_slot(self, slot: Slot) -> None:
        if slot.preprepare is not None:
            self._persist(_log_key(slot.height, slot.view, "pp"), None)
        for sender in slot.prepares:
            self._persist(_log_key(slot.height, slot.view, "p/" + sender), None)

    def _maybe_fetch(self) -> None:
        if self.fetch_target <= self.committed_height:
            self.fetch_target, self.fetch_deadline = 0, None
            return
        if self.fetch_deadline is not None and self.ticks < self.fetch_deadline:
            return
        peers = self.cfg.peers()
        ahead = [p for p in peers if self.peer_heights.get(p, 0) > self.committed_height] or list(peers)
        peer = ahead[self.fetch_turn % len(ahead)]
        self.fetch_turn += 1
        lo = self.committed_height + 1
        hi = min(self.fetch_target, lo + self.cfg.fetch_max_blocks - 1)
        self._send((peer,), self._sign(fetch_body(self.chain, self.id, lo, hi)))
        self._note(f"fetch h{lo}..h{hi} from {peer}")
        self.fetch_deadline = self.ticks + self.cfg.fetch_timeout_ticks

    # ------------------------------------------------------------------ view change

    def _start_view_change(self, view: int, resend: bool = False) -> None:
        if view < self.view or (view == self.view and not resend):
            return
        self.view, self.active = view, False
        self.vc_attempts += 1
        self.vc_deadline = None
        self.request_deadline = None
        certs = prepared_certificates(self.slots, self.stable.height, self.vs, view)
        env = self._sign(self._viewchange_body(view, certs))
        self.my_vc = env
        # Read back from the message itself, so the new primary plans from exactly what it sent.
        self.vc_latest[self.id] = check_viewchange(env, self.vs, self._verify, self.cfg.window)
        self._persist("view", canonical({"view": view, "active": False}))
        self._send(self.cfg.peers(), env)
        self._note(f"VIEW-CHANGE to v{view} with {len(certs)} prepared")
        self._arm_vc_timer()
        self._maybe_new_view()

    def _arm_vc_timer(self) -> None:
        """Start the view-change timer only once a quorum has given up on the views below ours (their
        latest VIEW-CHANGE is for our view or later): a replica that timed out alone must wait for
        the others rather than race through views on its own and never meet them."""
        if self.active or self.vc_deadline is not None:
            return
        if sum(1 for i in self.vc_latest.values() if i.view >= self.view) >= self.vs.quorum:
            timeout = self.cfg.view_change_timeout_ticks * 2 ** min(self.vc_attempts - 1, MAX_DOUBLINGS)
            self.vc_deadline = self.ticks + timeout

    def _viewchange_body(self, view: int, certs: dict) -> dict:
        """A seam: test mutants override it to lose prepared certificates."""
        return viewchange_body(self.chain, self.id, view, self.stable, self.stable_proof, certs)

    def _maybe_new_view(self) -> None:
        if self.active or self.vs.primary(self.view) != self.id:
            return
        infos = [i for i in self.vc_latest.values() if i.view == self.view]
        if len(infos) < self.vs.quorum:
            return
        order = self.vs.ids()
        infos = sorted(infos, key=lambda i: order.index(i.env.sender))[: self.vs.quorum]
        start, plan = plan_new_view(infos, self.vs, self.view)
        # Re-proposals are signed in their digest form: the new primary need not hold the bodies.
        pps = [self._sign(reproposal_body(self.chain, self.id, self.view, hd, d)) for _, hd, d in plan]
        env = self._sign(newview_body(self.chain, self.id, self.view, infos, pps))
        start_info = next(i for i in infos if i.checkpoint == start)
        self._send(self.cfg.peers(), env)
        self._enter_view(self.view, env, start, start_info, pps)

    def _enter_view(self, view: int, nv: m.Envelope, start: Checkpoint, start_info, pps) -> None:
        self.view, self.active = view, True
        self.vc_deadline = None
        self.newview_env = nv
        self._persist("view", canonical({"view": view, "active": True}))
        self._persist("newview", nv.wire)
        self._note(f"NEW-VIEW v{view} from {nv.sender}: start h{start.height}, {len(pps)} re-proposed")
        if start.height > self.stable.height:
            proof = [m.unembed(x) for x in start_info.env.body["proof"]]
            self._set_stable(start, proof)
        for pp in pps:
            h = pp.body["height"]
            if h <= self.stable.height:
                continue
            slot = self._slot(view, h)
            if slot.preprepare is not None and slot.preprepare.signed_bytes() != pp.signed_bytes():
                self._forget_slot(slot)
                slot = self.slots[(view, h)] = Slot(view, h)
            elif slot.preprepare is not None and not slot.awaiting_body:
                continue  # already installed with its body (a NEW-VIEW heard again after a restart)
            self._install_reproposal(slot, pp)
        # Only now: an unprepared slot of an earlier view may have held a re-proposed block's body.
        for key in [k for k, s in self.slots.items() if k[0] < view and not s.is_prepared(
                self.vs.primary(k[0]), self.vs.quorum)]:
            self._forget_slot(self.slots.pop(key))
        self._fetch_missing_bodies()
        for s in [s for s, i in self.vc_latest.items() if i.view <= view]:
            del self.vc_latest[s]
        self._restart_request_timer()
        if self.pending:
            self.pending_since = self.ticks - self.cfg.batch_wait_ticks
        self._progress()

    def _install_reproposal(self, slot: Slot, pp: m.Envelope) -> None:
        """Put a NEW-VIEW's digest-form PRE-PREPARE in its slot with its body when this replica has
        it (a null block's, or one it heard in an earlier view), else mark the slot as awaiting it.
        A block this replica already committed needs no body: it only votes for the same hash."""
        slot.reproposal = True
        txs = self._local_body(pp.txs_digest)
        if txs is not None:
            slot.preprepare, slot.awaiting_body = m.with_txs(pp, txs), False
        else:
            slot.preprepare = pp
            committed = slot.height <= self.committed_height
            slot.awaiting_body = not committed
            if slot.awaiting_body:
                slot.validated = None
        self._persist(_log_key(slot.height, slot.view, "pp"), b"R" + slot.preprepare.wire)

    def _local_body(self, digest: str) -> list | None:
        if digest == NULL_TXS_DIGEST:
            return []
        for s in self.slots.values():
            pp = s.preprepare
            if pp is not None and not pp.is_digest_form and pp.txs_digest == digest:
                return pp.body["txs"]
        return None

    def _fetch_missing_bodies(self) -> None:
        """Ask every peer for the bodies of the re-proposals of this view still awaiting one; any
        peer holding a body answers with BODY, which is checked against the signed digest."""
        for slot in self._awaiting_body():
            self._send(self.cfg.peers(), self._bodyfetch(slot))
            self._note(f"fetch body of h{slot.height} in v{slot.view}")

    def _awaiting_body(self) -> list[Slot]:
        """The re-proposals of this view, above the committed height, whose body is still missing."""
        return [s for s in self.slots.values()
                if s.view == self.view and s.awaiting_body and s.height > self.committed_height]

    def _bodyfetch(self, slot: Slot) -> m.Envelope:
        return self._sign({"t": m.BODYFETCH, "view": slot.view, "height": slot.height,
                           "txs_digest": slot.preprepare.txs_digest})

    def _maybe_refetch_bodies(self) -> None:
        """A BODYFETCH or every BODY answer lost: ask again every fetch timeout, one peer at a time in
        turn (a body can be a large message), for as long as a re-proposal of this view lacks one."""
        waiting = self._awaiting_body()
        if not self.active or not waiting:
            self.body_deadline = None
            return
        if self.body_deadline is None:
            self.body_deadline = self.ticks + self.cfg.fetch_timeout_ticks
            return
        if self.ticks < self.body_deadline:
            return
        peers = self.cfg.peers()
        peer = peers[self.body_turn % len(peers)]
        self.body_turn += 1
        for slot in sorted(waiting, key=lambda s: s.height):
            self._send((peer,), self._bodyfetch(slot))
        self._note(f"fetch {len(waiting)} bodies again from {peer}")
        self.body_deadline = self.ticks + self.cfg.fetch_timeout_ticks

    def _on_bodyfetch(self, env: m.Envelope) -> None:
        if env.body["view"] < self.view:
            self._drop("old_view")  # a requester still in an older view asks again in ours
            return
        txs = self._local_body(env.body["txs_digest"])
        if txs is None:
            self._drop("no_body")
            return
        body = {"t": m.BODY, "view": env.body["view"], "height": env.body["height"], "txs": txs}
        self._send((env.sender,), self._sign(body))

    def _on_body(self, env: m.Envelope) -> None:
        slot = self.slots.get((env.body["view"], env.body["height"]))
        if slot is None or not slot.awaiting_body:
            self._drop("stale")
            return
        try:
            full = m.with_txs(slot.preprepare, env.body["txs"])
        except m.MessageError:
            self._drop("bad_body")
            return
        slot.preprepare, slot.awaiting_body, slot.validated = full, False, False
        self._persist(_log_key(slot.height, slot.view, "pp"), b"R" + full.wire)
        self._note(f"body of h{slot.height} in v{slot.view} from {env.sender}")

    def _help_peer(self, peer: str, peer_view: int, peer_active: bool) -> None:
        """Retransmit what a peer that is behind in views needs: the NEW-VIEW we are in, or our
        VIEW-CHANGE (which counts toward pulling it along or toward its NEW-VIEW quorum)."""
        behind = peer_view < self.view or (peer_view == self.view and not peer_active)
        if not behind:
            return
        if self.active and self.newview_env is not None and self.newview_env.body["view"] == self.view:
            self._send((peer,), self.newview_env)
        elif not self.active and self.my_vc is not None:
            # A peer in an older view needs it to be pulled along; one in our view needs it for its
            # NEW-VIEW quorum (primary) or to start its view-change timer (everyone else).
            self._send((peer,), self.my_vc)

    # ------------------------------------------------------------------ helpers

    def _slot(self, view: int, height: int) -> Slot:
        slot = self.slots.get((view, height))
        if slot is None:
            slot = self.slots[(view, height)] = Slot(view, height)
        return slot

    def _sign(self, body: dict) -> m.Envelope:
        body["chain"], body["from"] = self.chain, self.id
        return m.sign(self.key, body)

    def _send(self, to, env: m.Envelope) -> None:
        self._ready.messages.append(m.Outgoing(tuple(to), env))

    def _persist(self, key: str, value: bytes | None) -> None:
        self._ready.persist.append((key, value))

    def _drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def _note(self, text: str) -> None:
        self.events.append((self.ticks, text))
        if len(self.events) > 2 * MAX_EVENTS:
            del self.events[:-MAX_EVENTS]

    def _verify(self, env: m.Envelope) -> str | None:
        """Each replica checks every signature it relies on itself; the result is cached per message."""
        small = len(env.wire) <= SMALL_MESSAGE
        if small and env.wire in self._sig_ok:
            return self._sig_ok[env.wire]
        reason = m.verify_envelope(env, self.vs)
        if small:
            if len(self._sig_ok) > 100_000:
                self._sig_ok.clear()
            self._sig_ok[env.wire] = reason
        return reason

    def _tx_valid(self, tx: Transaction) -> bool:
        """Whether the application accepts the request on its current state. Its answer depends on that
        state (a device key registered or revoked by a block), so a verdict is kept only while the
        applied height does not move, and a refusal is never kept: the next block may register the key."""
        if self._tx_ok_at != self.applied_height:
            self._tx_ok.clear()
            self._tx_ok_at = self.applied_height
        # The id leaves the signature out, so the cache key must include it.
        key = (tx.id, tx.signature)
        if key in self._tx_ok:
            return True
        if not self.cfg.verify_request(tx):
            return False
        if len(self._tx_ok) > 200_000:
            self._tx_ok.clear()
        self._tx_ok.add(key)
        return True
