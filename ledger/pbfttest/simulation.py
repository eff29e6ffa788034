"""A deterministic simulator for the PBFT core: nodes, a seeded faulty network, Byzantine
behaviours and the invariant checker. Pure code (no I/O, no clock, no global randomness): every
choice comes from a `random.Random(seed)` owned by the simulation, so a seed replays exactly.

Each `Node` plays the runtime: it feeds inputs to its replica, persists `ready().persist` into a
dict (the only thing that survives a crash), stores committed blocks, answers state requests from
that store, and is the application (a toy state root chained over transaction ids).

Clients come in two kinds (`Schedule.client`). "runtime", the default: a request is submitted once,
at one node, as a submission is in the runtime; the node keeps it (it survives a crash, as the
runtime's `Submission` row does) and proposes it to its replica again after a restart until it is
committed, and no client ever re-sends it. "retrying": the textbook client, which re-sends every
request without f+1 matching replies to every replica every 60 ticks.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable

from ledger.chain.block import BlockHeader, Validator, ValidatorSet, tx_root, verify_commit_certificate
from ledger.chain.crypto import SigningKey
from ledger.chain.encoding import canonical, sha256
from ledger.chain.tx import Transaction
from ledger.pbft import messages as m
from ledger.pbft.client import ReplyCollector, replies_for
from ledger.pbft.config import ReplicaConfig
from ledger.pbft.log import proposal_of
from ledger.pbft.replica import Replica
from ledger.pbft.statetransfer import serve_state_request
from ledger.pbft.viewchange import preprepare_body

TICK_MS = 10
CLIENTS = ("runtime", "retrying")
CHAIN = "sim"
GENESIS_ROOT = sha256(b"genesis").hex()


@lru_cache(maxsize=None)
def validator_key(i: int) -> SigningKey:
    return SigningKey.from_seed(sha256(b"pilechain-sim-validator-%d" % i))


@lru_cache(maxsize=None)
def device_key(i: int) -> SigningKey:
    return SigningKey.from_seed(sha256(b"pilechain-sim-device-%d" % i))


def validator_set(n: int, chain: str = CHAIN) -> ValidatorSet:
    return ValidatorSet(chain, tuple(Validator(f"R{i}", validator_key(i).public_key) for i in range(n)))


class Devices:
    """The application's device registry: verifies request signatures and counts the work.

    A registration is applied by each node on its own ledger state, so a node may not know a key yet
    (registered late) or any more (revoked): `unknown[signer]` holds the replicas without the key."""

    def __init__(self, count: int = 4, chain: str = CHAIN):
        self.chain = chain
        self.keys = {f"device:d{i}": device_key(i) for i in range(count)}
        self.unknown: dict[str, set[str]] = {}
        self.verifications = 0

    def signer(self, i: int) -> str:
        return f"device:d{i % len(self.keys)}"

    def set_known(self, signer: str, replicas, known: bool) -> None:
        if signer not in self.keys:
            raise ValueError(f"no such device {signer!r}")
        missing = self.unknown.setdefault(signer, set())
        if known:
            missing.difference_update(replicas)
        else:
            missing.update(replicas)

    def verifier(self, replica_id: str) -> Callable[[Transaction], bool]:
        return lambda tx: self.verify(tx, replica_id)

    def tx(self, i: int, *, valid: bool = True) -> Transaction:
        signer = self.signer(i)
        key = self.keys[signer]
        tx = Transaction.create(chain_id=self.chain, type="sim.reading", payload={"n": i},
                                signer=signer, key=key, nonce=f"n{i}")
        if not valid:  # a forged request: right shape, signature over other bytes
            tx = replace(tx, signature=key.sign(b"forged %d" % i).hex())
        return tx

    def verify(self, tx: Transaction, replica_id: str | None = None) -> bool:
        """Whether the request is validly signed by a device known (at `replica_id`, when given)."""
        self.verifications += 1
        key = self.keys.get(tx.signer)
        if key is None or (replica_id is not None and replica_id in self.unknown.get(tx.signer, ())):
            return False
        return tx.verify(key.public_key)


def sim_config(vs: ValidatorSet, i: int, devices: Devices, **overrides) -> ReplicaConfig:
    params = dict(checkpoint_interval=2, window=4, batch_max=3, batch_wait_ticks=2,
                  request_timeout_ticks=40, view_change_timeout_ticks=40, status_interval_ticks=10, heartbeat_ticks=50,
                  fetch_timeout_ticks=10, timestamp_tolerance_ms=2000, genesis_state_root=GENESIS_ROOT)
    params.update(overrides)
    # Devices knows keys per replica; any other registry (the benchmark's) verifies alike everywhere.
    verify = devices.verifier(f"R{i}") if isinstance(devices, Devices) else devices.verify
    return ReplicaConfig(validators=vs, replica_id=f"R{i}", signing_key=validator_key(i),
                         verify_request=verify, **params)


def describe(env: m.Envelope) -> str:
    b, k = env.body, env.kind
    if k == m.PREPREPARE:
        return f"PRE-PREPARE v{b['view']} h{b['height']} {len(b['txs'])}tx {proposal_of(env).block_hash[:6]}"
    if k in (m.PREPARE, m.COMMIT):
        return f"{k.upper()} v{b['view']} h{b['height']} {b['block'][:6]}"
    if k == m.CHECKPOINT:
        return f"CHECKPOINT h{b['height']} {b['block'][:6]}"
    if k == m.VIEWCHANGE:
        return f"VIEW-CHANGE v{b['view']} cp=h{b['checkpoint']['height']} prepared={len(b['prepared'])}"
    if k == m.NEWVIEW:
        return f"NEW-VIEW v{b['view']} vcs={len(b['viewchanges'])} re-proposed={len(b['preprepares'])}"
    if k == m.STATUS:
        return f"STATUS v{b['view']}{'' if b['active'] else '(changing)'} h{b['height']}"
    if k == m.FETCH:
        return f"FETCH h{b['from_height']}..h{b['to_height']}"
    if k == m.BLOCKS:
        return f"BLOCKS {len(b['blocks'])}"
    if k == m.BODYFETCH:
        return f"BODYFETCH v{b['view']} h{b['height']} {b['txs_digest'][:6]}"
    if k == m.BODY:
        return f"BODY v{b['view']} h{b['height']} {len(b['txs'])}tx"
    return f"REQUEST {len(b['txs'])}tx"


# ---------------------------------------------------------------------- behaviours


class Honest:
    byzantine = False
    name = "honest"

    def outgoing(self, node: "Node", out: m.Outgoing) -> list[tuple[str, bytes]]:
        return [(dst, out.data) for dst in out.to]

    def extra(self, node: "Node", sim: "Simulation") -> list[tuple[str, bytes]]:
        return []

    def observe(self, node: "Node", data: bytes) -> None:
        pass


class Silent(Honest):
    byzantine, name = True, "silent"

    def outgoing(self, node, out):
        return []


def _resign(node: "Node", body: dict) -> m.Envelope:
    return m.sign(node.config.signing_key, body)


class Equivocator(Honest):
    """As primary, sends one block to half the backups and another to the rest, and votes for both."""

    byzantine, name = True, "equivocate"

    def __init__(self):
        self.twin: dict[str, str] = {}  # block hash sent to group A -> block hash sent to group B

    def outgoing(self, node, out):
        env, peers = out.env, list(out.to)
        group_b = set(node.config.peers()[len(node.config.peers()) // 2:])
        if env.kind == m.PREPREPARE and env.body["txs"] and len(peers) > 1:
            b = dict(env.body)
            txs = b["txs"][:-1] if len(b["txs"]) > 1 else b["txs"]
            header = dict(b["header"], timestamp_ms=b["header"]["timestamp_ms"] + 1,
                      tx_count=len(txs), tx_root=tx_root([Transaction.from_dict(t).id for t in txs]))
            twin = _resign(node, {**b, "header": header, "txs": txs})
            self.twin[proposal_of(env).block_hash] = proposal_of(twin).block_hash
            return [(d, twin.wire if d in group_b else env.wire) for d in peers]
        if env.kind in (m.PREPARE, m.COMMIT) and env.body["block"] in self.twin:
            twin = _resign(node, {**env.body, "block": self.twin[env.body["block"]]})
            return [(d, twin.wire if d in group_b else env.wire) for d in peers]
        return super().outgoing(node, out)


class Tamperer(Honest):
    """As primary, sends blocks that lie: a swapped transaction under the old Merkle root, a forged
    request, or a transaction that is already committed."""

    byzantine, name = True, "tamper"

    def __init__(self, rng: random.Random, devices: Devices):
        self.rng, self.devices = rng, devices

    def outgoing(self, node, out):
        env = out.env
        if env.kind == m.BLOCKS:  # state transfer answers lie too: a swapped transaction in the first block
            blocks = [dict(b) for b in env.body["blocks"]]
            if blocks[0]["txs"]:
                blocks[0]["txs"] = [dict(blocks[0]["txs"][0], payload={"n": -2})] + blocks[0]["txs"][1:]
            bad = _resign(node, {**env.body, "blocks": blocks})
            return [(d, bad.wire) for d in out.to]
        if env.kind != m.PREPREPARE or not env.body["txs"]:
            return super().outgoing(node, out)
        b = dict(env.body)
        txs = list(b["txs"])
        header = dict(b["header"])
        how = self.rng.randrange(3)
        if how == 0:
            txs[0] = dict(txs[0], payload={"n": -1})
        else:
            extra = self.devices.tx(10_000 + self.rng.randrange(100), valid=False)
            if how == 2 and node.replica.committed_txids:
                committed = sorted(node.replica.committed_txids)[0]
                extra = next((tx for tx in node.sim.known_txs.values() if tx.id == committed), extra)
            txs.append(extra.to_dict())
            header.update(tx_count=len(txs), tx_root=tx_root([Transaction.from_dict(t).id for t in txs]))
        bad = _resign(node, {**b, "header": header, "txs": txs})
        return [(d, bad.wire) for d in out.to]


class Forger(Honest):
    """Now and then sends garbage, messages signed as someone else, and messages from a stranger."""

    byzantine, name = True, "forge"

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.stranger = SigningKey.from_seed(sha256(b"stranger"))

    def extra(self, node, sim):
        if self.rng.random() > 0.2:
            return []
        peers = node.config.peers()
        victim = self.rng.choice(peers)
        body = {"t": m.PREPARE, "chain": CHAIN, "from": victim, "view": node.replica.view,
                "height": node.replica.committed_height + 1, "block": "ab" * 32}
        choice = self.rng.randrange(4)
        if choice == 0:
            data = m.sign(node.config.signing_key, body).wire  # signed with our key, claims to be victim
        elif choice == 1:
            data = m.sign(self.stranger, dict(body, **{"from": "mallory"})).wire
        elif choice == 2:
            data = bytes(self.rng.randrange(256) for _ in range(80))
        else:
            good = m.sign(node.config.signing_key, dict(body, **{"from": node.id}))
            data = bytes(64) + good.body_bytes  # a zeroed signature
        return [(self.rng.choice(peers), data)]


class Replayer(Honest):
    """Records what it hears and plays old messages back to random peers."""

    byzantine, name = True, "replay"

    def __init__(self, rng: random.Random):
        self.rng, self.heard = rng, []

    def observe(self, node, data):
        if len(self.heard) < 400:
            self.heard.append(data)

    def extra(self, node, sim):
        if not self.heard or self.rng.random() > 0.3:
            return []
        return [(self.rng.choice(node.config.peers()), self.rng.choice(self.heard))]


class Flooder(Honest):
    """Sends validly signed messages for heights far outside every window."""

    byzantine, name = True, "flood"

    def __init__(self, rng: random.Random):
        self.rng = rng

    def extra(self, node, sim):
        if self.rng.random() > 0.3:
            return []
        r = node.replica
        h = r.stable.height + r.cfg.window + 1 + self.rng.randrange(10_000)
        kind = self.rng.choice([m.PREPARE, m.COMMIT, m.CHECKPOINT])
        if kind == m.CHECKPOINT:
            body = {"t": kind, "chain": CHAIN, "from": node.id, "height": h * 1000, "block": "cd" * 32,
                    "state_root": "cd" * 32}
        else:
            body = {"t": kind, "chain": CHAIN, "from": node.id, "view": r.view, "height": h, "block": "cd" * 32}
        return [(d, _resign(node, body).wire) for d in node.config.peers()]


class CensoringReplica(Replica):
    """The core of a censoring primary. With `victims`, it batches honestly but never includes them;
    without, it never proposes a request and sends a block without transactions every `every` ticks
    instead, so that commits go on while every request waits."""

    every = 30
    victims: frozenset = frozenset()
    _last_empty = -(10**9)

    def _maybe_propose(self):
        if self.victims:
            hidden = {i: self.pending.pop(i) for i in list(self.pending) if i in self.victims}
            try:
                if self.pending:
                    super()._maybe_propose()
            finally:
                self.pending.update(hidden)
            return
        if self.vs.primary(self.view) != self.id or self.applied_height != self.committed_height:
            return
        h = self.committed_height + 1
        slot = self.slots.get((self.view, h))
        if h > self.stable.height + self.cfg.window or (slot is not None and slot.preprepare is not None):
            return
        if self.ticks - self._last_empty < self.every:
            return
        self._last_empty = self.ticks
        header = BlockHeader(chain_id=self.chain, height=h, prev_hash=self.tip_hash,
                             timestamp_ms=max(self.now_ms, self.tip_ts + 1), tx_root=tx_root([]), tx_count=0,
                             state_root=self.applied_root, view=self.view, proposer=self.id)
        self._propose_env(self._sign(preprepare_body(self.chain, self.id, self.view, header, [])))


class Censor(Honest):
    """A primary that keeps the chain moving but leaves requests out (see CensoringReplica)."""

    byzantine, name = True, "censor"

    def __init__(self, every: int = 30, victims=()):
        self.replica_class = type("CensoringReplica", (CensoringReplica,),
                                  {"every": every, "victims": frozenset(victims)})


BEHAVIOURS = ("silent", "equivocate", "tamper", "forge", "replay", "flood")


def make_behaviour(name: str, rng: random.Random, devices: Devices) -> Honest:
    return {
        "silent": lambda: Silent(),
        "equivocate": lambda: Equivocator(),
        "tamper": lambda: Tamperer(rng, devices),
        "forge": lambda: Forger(rng),
        "replay": lambda: Replayer(rng),
        "flood": lambda: Flooder(rng),
    }[name]()


# ---------------------------------------------------------------------- network


@dataclass
class Partition:
    group: frozenset
    start: int
    end: int  # healed at this tick


class Network:
    """Seeded delay, drop, duplication (hence reordering) and partitions, all until `faults_end`."""

    def __init__(self, rng: random.Random, *, drop=0.0, duplicate=0.0, max_delay=3, faults_end=0, min_delay=1):
        if not 1 <= min_delay <= max_delay:
            raise ValueError("delays must satisfy 1 <= min_delay <= max_delay")
        self.rng = rng
        self.drop, self.duplicate, self.max_delay, self.faults_end = drop, duplicate, max_delay, faults_end
        self.min_delay = min_delay
        self.partitions: list[Partition] = []
        self.cut: set[tuple[str, str]] = set()  # links cut by hand (scenario tests)
        self.drop_if: Callable | None = None  # (now, src, dst, envelope kind) -> drop? (scenario tests)
        self.queue: list = []
        self.seq = 0
        self.sent = self.dropped = 0

    def blocked(self, now: int, src: str, dst: str) -> bool:
        if (src, dst) in self.cut or (dst, src) in self.cut:
            return True
        return any(p.start <= now < p.end and ((src in p.group) != (dst in p.group)) for p in self.partitions)

    def send(self, now: int, src: str, dst: str, data: bytes) -> None:
        self.sent += 1
        faulty = now < self.faults_end
        if faulty and self.drop and self.rng.random() < self.drop:
            self.dropped += 1
            return
        copies = 2 if faulty and self.duplicate and self.rng.random() < self.duplicate else 1
        for _ in range(copies):
            # A link's own delay (min_delay) holds all along; the spread above it is a fault.
            top = self.max_delay if faulty else max(self.min_delay, min(self.max_delay, 2))
            delay = self.rng.randint(self.min_delay, top)
            self.seq += 1
            heapq.heappush(self.queue, (now + delay, self.seq, src, dst, data))

    def due(self, now: int):
        while self.queue and self.queue[0][0] <= now:
            _, _, src, dst, data = heapq.heappop(self.queue)
            if self.blocked(now, src, dst) or (self.drop_if is not None and self.drop_if(now, src, dst, _kind(data))):
                self.dropped += 1
                continue
            yield src, dst, data


def _kind(data: bytes) -> str:
    try:
        return m.decode(data).kind
    except m.MessageError:
        return "garbage"


# ---------------------------------------------------------------------- nodes and checker


class Node:
    def __init__(self, sim: "Simulation", config: ReplicaConfig, behaviour: Honest, factory, skew_ms: int):
        self.sim, self.config, self.behaviour, self.factory = sim, config, behaviour, factory
        self.id = config.replica_id
        self.skew_ms = skew_ms
        self.kv: dict[str, bytes] = {}
        self.store: dict = {}  # height -> CommittedBlock, as the runtime would keep them
        # Requests submitted here and not committed here yet: the runtime's Submission rows. They
        # survive a crash and are proposed to the replica again after a restart.
        self.submissions: dict[str, Transaction] = {}
        self.app_height, self.app_root = 0, GENESIS_ROOT
        self.alive = True
        self.replica = factory(config)

    dead_forever = False  # crashed and never restarted: counts as one of the f faulty replicas

    @property
    def correct(self) -> bool:
        return not self.behaviour.byzantine and not self.dead_forever

    def crash(self) -> None:
        self.alive = False
        self.replica = None

    def restart(self) -> None:
        self.replica = self.factory.restore(self.config, dict(self.kv))
        self.alive = True
        self.replica.applied(self.app_height, self.app_root)
        for tx in list(self.submissions.values()):
            self._propose(tx)
        self.pump()

    def submit(self, tx: Transaction) -> None:
        """A submission taken by this node: kept, and proposed now or, if the node is down, when it
        restarts. One its replica refuses is dropped, as the runtime rejects it."""
        self.submissions[tx.id] = tx
        if self.alive:
            self._propose(tx)
            self.pump()

    def _propose(self, tx: Transaction) -> None:
        if not self.replica.propose(tx):
            del self.submissions[tx.id]

    def pump(self) -> None:
        """Persist, then send, then apply: the order the runtime must keep."""
        r = self.replica
        while r.has_ready():
            rd = r.ready()
            for key, value in rd.persist:
                if value is None:
                    self.kv.pop(key, None)
                else:
                    self.kv[key] = value
            outs = list(rd.messages)
            for req in rd.state_requests:
                answer = serve_state_request(req, self.store.get, signing_key=self.config.signing_key,
                                             chain_id=self.config.chain_id, replica_id=self.id)
                if answer is not None:
                    outs.append(answer)
            for out in outs:
                pairs = self.behaviour.outgoing(self, out)
                self.sim.trace_send(self.id, pairs)
                for dst, data in pairs:
                    self.sim.net.send(self.sim.now, self.id, dst, data)
            r.advance()
            for block in rd.committed:
                self.store[block.height] = block
                for tx in block.txs:
                    self.submissions.pop(tx.id, None)
                self.app_root = sha256(bytes.fromhex(self.app_root) + canonical([t.id for t in block.txs])).hex()
                self.app_height = block.height
                self.sim.on_commit(self, block)
                r.applied(block.height, self.app_root)


@dataclass
class Schedule:
    seed: int
    n: int
    byzantine: dict = field(default_factory=dict)  # replica id -> behaviour name
    drop: float = 0.0
    duplicate: float = 0.0
    max_delay: int = 3
    partitions: list = field(default_factory=list)  # (group tuple, start, end)
    crashes: list = field(default_factory=list)  # (replica id, crash tick, restart tick or None)
    requests: list = field(default_factory=list)  # (tick, tx index, valid, entry replica)
    # "runtime": each request enters its entry replica once, kept by that node across crashes;
    # "retrying": the textbook client re-sends every unanswered request to every replica every 60 ticks.
    client: str = "runtime"
    # A link's own delay: delays are min_delay..max_delay ticks until faults_end, then
    # min_delay..max(min_delay, 2).
    min_delay: int = 1
    # (tick, device signer, replica ids, known): a device key's registration applied (known) or revoked
    # at those replicas only, from that tick on.
    key_changes: list = field(default_factory=list)
    # (victim, start, end, down_for): COMMITs reach only the victim during [start, end), and the victim
    # crashes right after its first commit there, for down_for ticks. The adversary's best shot at a
    # block committed by one replica only, which only prepared certificates carry into the next view.
    commit_loss: tuple | None = None
    faults_end: int = 0
    max_ticks: int = 4000

    def summary(self) -> str:
        parts = [f"n={self.n}", f"byz={self.byzantine}", f"drop={self.drop}", f"dup={self.duplicate}",
                 f"delay={self.min_delay}..{self.max_delay}", f"client={self.client}"]
        if self.key_changes:
            parts.append(f"key_changes={self.key_changes}")
        if self.partitions:
            parts.append(f"partitions={self.partitions}")
        if self.crashes:
            parts.append(f"crashes={self.crashes}")
        if self.commit_loss:
            parts.append(f"commit_loss={self.commit_loss}")
        parts.append(f"requests={len(self.requests)} faults_end={self.faults_end}")
        return " ".join(parts)


def random_schedule(seed: int, n: int | None = None) -> Schedule:
    rng = random.Random(seed * 7919 + 1)
    n = n or 4 + seed % 4
    f = (n - 1) // 3
    ids = [f"R{i}" for i in range(n)]
    count = rng.randint(1, f)
    pool = ids[1:]
    chosen = (["R0"] if rng.random() < 0.6 else []) + rng.sample(pool, count)
    byzantine = {rid: rng.choice(BEHAVIOURS) for rid in chosen[:count]}
    s = Schedule(seed=seed, n=n, byzantine=byzantine)
    s.drop = rng.choice([0.0, 0.05, 0.1, 0.2])
    s.duplicate = rng.choice([0.0, 0.05, 0.2])
    s.max_delay = rng.randint(1, 5)
    last = 0
    if rng.random() < 0.6:
        start = rng.randint(0, 120)
        size = rng.randint(1, max(1, n // 2))
        group = tuple(sorted(rng.sample(ids, size)))
        end = start + rng.randint(20, 120)
        s.partitions.append((group, start, end))
        last = max(last, end)
    correct = [r for r in ids if r not in byzantine]
    if rng.random() < 0.5:
        victim = rng.choice(correct)
        at = rng.randint(5, 150)
        back = at + rng.randint(10, 120)
        s.crashes.append((victim, at, back))
        last = max(last, back)
    if rng.random() < 0.3:
        start = rng.randint(0, 120)
        end = start + rng.randint(20, 60)
        s.commit_loss = (rng.choice(correct), start, end, rng.randint(80, 200))
        last = max(last, end + s.commit_loss[3])
    if not (s.drop or s.duplicate or s.partitions):
        s.drop = 0.1
    for i in range(rng.randint(2, 7)):
        s.requests.append((rng.randint(0, 150), i, True, rng.choice(ids)))
    if rng.random() < 0.3:
        s.requests.append((rng.randint(0, 150), 99, False, rng.choice(ids)))
    s.faults_end = max(last, 160) + 1
    return s


class Simulation:
    def __init__(self, schedule: Schedule, *, factory=Replica, transcript: bool = False,
                 config_overrides: dict | None = None, behaviours: dict | None = None,
                 stop_on_violation: bool = False):
        self.stop_on_violation = stop_on_violation
        self.schedule = schedule
        self.rng = random.Random(schedule.seed)
        self.devices = Devices()
        self.vs = validator_set(schedule.n)
        if schedule.client not in CLIENTS:
            raise ValueError(f"unknown client mode {schedule.client!r}; one of {CLIENTS}")
        self.net = Network(self.rng, drop=schedule.drop, duplicate=schedule.duplicate,
                           max_delay=schedule.max_delay, faults_end=schedule.faults_end,
                           min_delay=schedule.min_delay)
        for group, start, end in schedule.partitions:
            self.net.partitions.append(Partition(frozenset(group), start, end))
        self.now = 0
        self.transcript: list[str] | None = [] if transcript else None
        self.nodes: dict[str, Node] = {}
        behaviours = behaviours or {}
        for i in range(schedule.n):
            rid = f"R{i}"
            config = sim_config(self.vs, i, self.devices, **(config_overrides or {}))
            if rid in behaviours:
                behaviour = behaviours[rid]
            elif rid in schedule.byzantine:
                behaviour = make_behaviour(schedule.byzantine[rid], self.rng, self.devices)
            else:
                behaviour = Honest()
            # Byzantine nodes run the honest core underneath their behaviour; mutants replace only
            # the correct replicas, so the test shows the mutation (not the adversary) breaks things.
            node_factory = getattr(behaviour, "replica_class", Replica) if behaviour.byzantine else factory
            self.nodes[rid] = Node(self, config, behaviour, node_factory, skew_ms=self.rng.randint(-50, 50))
        self.known_txs: dict[str, Transaction] = {}  # (tx id) -> tx, valid requests submitted
        self.entries: dict[str, str | None] = {}  # tx id -> the replica it was submitted at (None: all)
        self.commit_ticks: dict[str, dict[str, int]] = {}  # tx id -> {correct replica: tick it committed}
        self.valid_sigs: set[tuple[str, str]] = set()
        self.requests = sorted(schedule.requests)
        self.clients = ReplyCollector(self.vs.f)
        self.committed: dict[str, list] = {rid: [] for rid in self.nodes}  # rid -> [block hash by height]
        self.violations: list[str] = []
        self._cert_ok: set = set()
        self.stopped_at = 0
        self.crashes = list(schedule.crashes)
        self.key_changes = sorted(schedule.key_changes, key=lambda c: c[0])
        if schedule.commit_loss:
            victim, start, end, _ = schedule.commit_loss
            self.net.drop_if = lambda now, src, dst, kind: start <= now < end and kind == m.COMMIT and dst != victim

    # -- tracing

    def log(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.append(f"t={self.now} {text}")

    def trace_send(self, src: str, pairs: list) -> None:
        """One transcript line per distinct message sent (an equivocator's twins show separately)."""
        if self.transcript is None or not pairs:
            return
        by_data: dict[bytes, list[str]] = {}
        for dst, data in pairs:
            by_data.setdefault(data, []).append(dst)
        for data, dsts in by_data.items():
            try:
                text = describe(m.decode(data))
            except (m.MessageError, ValueError):
                text = "(garbage)"
            if text.startswith("STATUS"):
                continue
            to = "*" if len(dsts) == len(self.nodes) - 1 else ",".join(dsts)
            self.transcript.append(f"t={self.now} {src} -> {to} {text}")

    # -- events

    def submit(self, index: int, valid: bool, entry: str | None) -> None:
        tx = self.devices.tx(index, valid=valid)
        if valid:
            self.known_txs[tx.id] = tx
            self.valid_sigs.add((tx.id, tx.signature))
            self.entries.setdefault(tx.id, entry)
        targets = [entry] if entry else list(self.nodes)
        for rid in targets:
            node = self.nodes[rid]
            if self.schedule.client == "runtime":
                node.submit(tx)
            elif node.alive:
                node.replica.propose(tx)
                node.pump()
        self.log(f"client submits tx{index}{'' if valid else ' (forged)'} to {entry or 'all'}")

    def wanted(self) -> list[str]:
        """The requests every correct replica must commit: the valid ones, except, with the runtime's
        client, those submitted at a faulty node (which may lose them) and those whose device key was
        revoked at a quorum of replicas before they committed (no correct primary may propose them)."""
        ids = []
        for tx_id, tx in self.known_txs.items():
            entry = self.entries.get(tx_id)
            if self.schedule.client == "runtime" and entry is not None and not self.nodes[entry].correct:
                continue
            revoked_at = self.devices.unknown.get(tx.signer, set())
            if len(revoked_at) >= self.vs.quorum and tx_id not in self.commit_ticks:
                continue
            ids.append(tx_id)
        return ids

    def on_commit(self, node: Node, block) -> None:
        h = block.height
        for reply in replies_for(block, node.id):
            self.clients.add(reply)
        loss = self.schedule.commit_loss
        if loss and node.id == loss[0] and loss[1] <= self.now < loss[2] and not getattr(self, "_loss_done", False):
            self._loss_done = True
            self.crashes.append((node.id, self.now + 1, self.now + 1 + loss[3]))
        if not node.correct:
            return
        chain = self.committed[node.id]
        if h != len(chain) + 1:
            self.violations.append(f"order: {node.id} committed h{h} after h{len(chain)}")
        digest = block.block_hash
        chain.append(digest)
        for rid, other in self.committed.items():
            if rid != node.id and len(other) >= h and other[h - 1] != digest:
                self.violations.append(f"agreement: {node.id} and {rid} committed different blocks at h{h}")
        key = (digest, block.certificate)
        if key not in self._cert_ok:
            if not verify_commit_certificate(block.header, block.certificate, self.vs):
                self.violations.append(f"certificate: {node.id} h{h}: commit certificate does not verify")
            self._cert_ok.add(key)
        for tx in block.txs:
            if (tx.id, tx.signature) not in self.valid_sigs:
                self.violations.append(f"validity: {node.id} committed unsigned or forged tx {tx.id[:8]} at h{h}")
        seen = node.__dict__.setdefault("_seen_txids", set())
        for tx in block.txs:
            if tx.id in seen:
                self.violations.append(f"validity: {node.id} committed tx {tx.id[:8]} twice (h{h})")
            seen.add(tx.id)
            self.commit_ticks.setdefault(tx.id, {})[node.id] = self.now
        self.log(f"{node.id} COMMITTED h{h} {len(block.txs)}tx {digest[:6]} cert v{block.certificate.view}")

    def committed_everywhere_at(self, tx_id: str) -> int | None:
        """The tick by which every correct replica had committed the request, or None."""
        ticks = self.commit_ticks.get(tx_id, {})
        correct = [rid for rid, node in self.nodes.items() if node.correct]
        return max(ticks[r] for r in correct) if all(r in ticks for r in correct) else None

    def done(self) -> bool:
        wanted = self.wanted()
        if len(self.known_txs) < sum(1 for r in self.requests if r[2]):
            return False
        for node in self.nodes.values():
            if node.correct:
                if not node.alive:
                    return False
                seen = node.__dict__.get("_seen_txids", set())
                if any(t not in seen for t in wanted):
                    return False
        return True

    def run(self) -> "Simulation":
        s = self.schedule
        for rid, _, back in s.crashes:
            if back is None:
                self.nodes[rid].dead_forever = True
        pending_requests = list(self.requests)
        retry_every = 60
        for t in range(1, s.max_ticks + 1):
            self.now = t
            for rid, down, back in self.crashes:
                if down == t and self.nodes[rid].alive:
                    self.nodes[rid].crash()
                    self.log(f"{rid} CRASHES")
                if back == t and not self.nodes[rid].alive:
                    self.log(f"{rid} RESTARTS from its persisted state")
                    self.nodes[rid].restart()
            while self.key_changes and self.key_changes[0][0] <= t:
                _, signer, replicas, known = self.key_changes.pop(0)
                self.devices.set_known(signer, replicas, known)
                self.log(f"{signer} key {'registered' if known else 'revoked'} at {','.join(replicas)}")
            for p in self.net.partitions:
                if p.start == t:
                    self.log(f"PARTITION {sorted(p.group)} | rest")
                if p.end == t:
                    self.log(f"partition {sorted(p.group)} heals")
            while pending_requests and pending_requests[0][0] <= t:
                _, index, valid, entry = pending_requests.pop(0)
                self.submit(index, valid, entry)
            if s.client == "retrying" and t % retry_every == 0:
                # A client that has no f+1 matching replies yet sends its request to every replica.
                for _, index, valid, _ in self.requests:
                    tx = self.devices.tx(index, valid=valid)
                    if valid and tx.id in self.known_txs and tx.id not in self.clients.accepted:
                        self.submit(index, valid, None)
            for node in self.nodes.values():
                if node.alive:
                    node.replica.tick(t * TICK_MS + node.skew_ms)
                    node.pump()
                    if t < s.faults_end:
                        extra = node.behaviour.extra(node, self)
                        self.trace_send(node.id, extra)
                        for dst, data in extra:
                            self.net.send(t, node.id, dst, data)
            for src, dst, data in list(self.net.due(t)):
                node = self.nodes[dst]
                if node.alive:
                    node.behaviour.observe(node, data)
                    node.replica.step(data)
                    node.pump()
            if t >= s.faults_end and t % 5 == 0 and self.done():
                break
            if self.stop_on_violation and self.violations:
                return self
        self.stopped_at = self.now
        if not self.done():
            missing = [tx_id[:8] for tx_id in self.wanted()
                       if any(n.correct and tx_id not in n.__dict__.get("_seen_txids", set())
                              for n in self.nodes.values())]
            self.violations.append(f"liveness: requests {missing} not committed at every correct replica "
                                   f"by t={self.now}")
        return self

    def dropped(self) -> dict:
        total: dict = {}
        for node in self.nodes.values():
            if node.alive and node.correct:
                for reason, count in node.replica.dropped.items():
                    total[reason] = total.get(reason, 0) + count
        return total


def run_schedule(seed: int, n: int | None = None, *, factory=Replica, transcript: bool = False,
                 stop_on_violation: bool = False, client: str = "runtime") -> Simulation:
    schedule = replace(random_schedule(seed, n), client=client)
    return Simulation(schedule, factory=factory, transcript=transcript, stop_on_violation=stop_on_violation).run()


def replay_command(seed: int, n: int, mutant: str | None = None, client: str = "runtime") -> str:
    extra = f" --mutant {mutant}" if mutant else ""
    extra += f" --client {client}" if client != "runtime" else ""
    return f"cd /work/main && .venv/bin/python -m tests.ledger.pbft.replay --seed {seed} --n {n}{extra}"
