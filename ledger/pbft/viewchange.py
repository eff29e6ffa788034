"""VIEW-CHANGE and NEW-VIEW contents: building them, checking them, and the deterministic choice of
what the new view re-proposes. Pure functions; the replica supplies its cached signature check.

A VIEW-CHANGE carries the sender's stable checkpoint with its proof (a quorum of CHECKPOINT
messages) and, for each height above it, the prepared certificate of the highest view it prepared
in (the PRE-PREPARE plus quorum-1 matching PREPAREs from other replicas). The new primary takes a
quorum of them, starts from the highest proven checkpoint (min-s), and re-proposes for every height
up to the highest prepared one (max-s) the block of the highest-view certificate, filling gaps with
null blocks. Every backup recomputes the same plan from the same VIEW-CHANGEs and compares.

Size. Every PRE-PREPARE inside these messages is in its digest form (header and transactions digest,
under the primary's signature; see messages), never with its body. The prepared certificate's PREPAREs
vote on the header hash, and the header commits to the transactions through tx_root, so nothing is
lost: a replica that lacks a re-proposed block's body gets it with BODYFETCH. Hence a VIEW-CHANGE is at
most (quorum CHECKPOINTs) + window x (one header-sized PRE-PREPARE + quorum-1 PREPAREs), and a NEW-VIEW
a quorum of those plus window header-sized PRE-PREPAREs, whatever the blocks hold (docs/consortium.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ledger.chain.block import ZERO_HASH, BlockHeader, ValidatorSet
from ledger.pbft import messages as m
from ledger.pbft.log import Proposal, null_header, proposal_of

Verify = Callable[[m.Envelope], "str | None"]


class InvalidViewChange(ValueError):
    """A VIEW-CHANGE or NEW-VIEW whose contents do not prove what they claim."""


@dataclass(frozen=True)
class Checkpoint:
    height: int
    block: str
    state_root: str

    def to_dict(self) -> dict:
        return {"height": self.height, "block": self.block, "state_root": self.state_root}


GENESIS = Checkpoint(0, ZERO_HASH, ZERO_HASH)
NULL_TXS_DIGEST = m.txs_digest([])  # a null block's body is known to everyone: no transactions


@dataclass(frozen=True)
class Certificate:
    view: int
    height: int
    proposal: Proposal
    preprepare: m.Envelope
    prepares: tuple[m.Envelope, ...]


@dataclass(frozen=True)
class ViewChangeInfo:
    env: m.Envelope
    view: int
    checkpoint: Checkpoint
    certificates: dict  # height -> Certificate


def prepared_certificates(slots: dict, low: int, validators: ValidatorSet, below_view: int) -> dict[int, Certificate]:
    """Per height above `low`, the certificate of the highest view below `below_view` this replica
    prepared in (the log may hold slots of the view being changed to, heard early)."""
    best: dict[int, Certificate] = {}
    for (view, height), slot in slots.items():
        if height <= low or view >= below_view:
            continue
        primary = validators.primary(view)
        if not slot.is_prepared(primary, validators.quorum):
            continue
        if height in best and best[height].view >= view:
            continue
        votes = slot.prepare_votes(primary)[: validators.quorum - 1]
        pp = m.digest_form(slot.preprepare)
        best[height] = Certificate(view, height, proposal_of(pp), pp, tuple(votes))
    return best


def viewchange_body(chain: str, sender: str, view: int, checkpoint: Checkpoint, proof, certs) -> dict:
    return {
        "t": m.VIEWCHANGE,
        "chain": chain,
        "from": sender,
        "view": view,
        "checkpoint": checkpoint.to_dict(),
        "proof": [m.embed(e) for e in proof],
        "prepared": [
            {"preprepare": m.embed(c.preprepare), "prepares": [m.embed(p) for p in c.prepares]}
            for _, c in sorted(certs.items())
        ],
    }


def check_checkpoint_proof(cp: Checkpoint, proof: list[m.Envelope], validators: ValidatorSet, verify: Verify):
    if cp.height == 0:
        if cp != GENESIS:
            raise InvalidViewChange("genesis checkpoint must be all zero")
        return
    senders = set()
    for e in proof:
        b = e.body
        if e.kind != m.CHECKPOINT or (b["height"], b["block"], b["state_root"]) != (cp.height, cp.block, cp.state_root):
            raise InvalidViewChange("checkpoint proof does not match the checkpoint")
        if verify(e) is not None:
            raise InvalidViewChange("checkpoint proof has a bad signature")
        senders.add(e.sender)
    if len(senders) < validators.quorum:
        raise InvalidViewChange("checkpoint proof is not a quorum")


def check_certificate(pp: m.Envelope, prepares: list[m.Envelope], below_view: int, validators, verify) -> Certificate:
    if pp.kind != m.PREPREPARE or not pp.is_digest_form:
        raise InvalidViewChange("certificate does not start with a PRE-PREPARE in its digest form")
    view, height = pp.body["view"], pp.body["height"]
    primary = validators.primary(view)
    if view >= below_view or pp.sender != primary:
        raise InvalidViewChange("certificate PRE-PREPARE from the wrong view or sender")
    if verify(pp) is not None:
        raise InvalidViewChange("certificate PRE-PREPARE has a bad signature")
    try:
        proposal = proposal_of(pp)
    except m.MessageError as exc:
        raise InvalidViewChange(f"certificate block is malformed: {exc}") from exc
    # The body is not here: the quorum of PREPAREs below is for the header hash, which commits to the
    # transactions; a replica checks the body against the header when it gets it.
    if proposal.header.height != height or proposal.header.chain_id != validators.chain_id:
        raise InvalidViewChange("certificate block header is for another height or chain")
    senders = set()
    for e in prepares:
        b = e.body
        if e.kind != m.PREPARE or (b["view"], b["height"], b["block"]) != (view, height, proposal.block_hash):
            raise InvalidViewChange("certificate PREPARE does not match")
        if e.sender == primary or verify(e) is not None:
            raise InvalidViewChange("certificate PREPARE from the primary or badly signed")
        senders.add(e.sender)
    if len(senders) + 1 < validators.quorum:
        raise InvalidViewChange("certificate is not a quorum")
    return Certificate(view, height, proposal, pp, tuple(prepares))


def check_viewchange(env: m.Envelope, validators: ValidatorSet, verify: Verify, window: int) -> ViewChangeInfo:
    cached = getattr(env, "_vc_info", None)
    if cached is not None:
        return cached
    b = env.body
    cp = Checkpoint(**b["checkpoint"])
    try:
        proof = [m.unembed(x) for x in b["proof"]]
        certs_raw = [(m.unembed(c["preprepare"]), [m.unembed(p) for p in c["prepares"]]) for c in b["prepared"]]
    except m.MessageError as exc:
        raise InvalidViewChange(f"embedded message is malformed: {exc}") from exc
    check_checkpoint_proof(cp, proof, validators, verify)
    certs: dict[int, Certificate] = {}
    for pp, prepares in certs_raw:
        cert = check_certificate(pp, prepares, b["view"], validators, verify)
        if not cp.height < cert.height <= cp.height + window or cert.height in certs:
            raise InvalidViewChange("certificate height outside the window or repeated")
        certs[cert.height] = cert
    info = ViewChangeInfo(env, b["view"], cp, certs)
    env._vc_info = info
    return info


def plan_new_view(infos: list[ViewChangeInfo], validators: ValidatorSet, view: int):
    """(checkpoint to start from, [(height, header, transactions digest)]) for the new view."""
    start = max((i.checkpoint for i in infos), key=lambda c: c.height)
    candidates: dict[int, list[Certificate]] = {}
    for info in infos:
        for h, cert in info.certificates.items():
            if h <= start.height:
                continue
            best = candidates.setdefault(h, [cert])
            if cert.view > best[0].view:
                candidates[h] = [cert]
            elif cert.view == best[0].view and cert is not best[0]:
                best.append(cert)
    chosen = {h: _pick(certs, view) for h, certs in candidates.items()}
    top = max(chosen, default=start.height)
    plan = []
    prev_hash = start.block
    for h in range(start.height + 1, top + 1):
        cert = chosen.get(h)
        if cert is None:
            header = null_header(validators.chain_id, h, prev_hash, view, validators.primary(view))
            digest = NULL_TXS_DIGEST
        else:
            header = cert.proposal.header
            digest = cert.preprepare.txs_digest
        plan.append((h, header, digest))
        prev_hash = header.hash()
    return start, plan


def _pick(certs: list[Certificate], view: int) -> Certificate:
    """Among certificates of the highest view for one height. A quorum prepared one header per view
    and height, so they agree on the block; they can differ in the transactions digest only if that
    view's primary signed the header with two bodies (a PREPARE votes on the header hash), and then
    the body behind one digest may be one nobody holds. Rotating through the digests with the view
    being entered reaches one that correct replicas hold within as many view changes as there are
    digests, where always taking the same one could stall every view."""
    digests = sorted({c.preprepare.txs_digest for c in certs})
    wanted = digests[view % len(digests)]
    return next(c for c in certs if c.preprepare.txs_digest == wanted)


def preprepare_body(chain: str, sender: str, view: int, header: BlockHeader, txs: list) -> dict:
    return {"t": m.PREPREPARE, "chain": chain, "from": sender, "view": view, "height": header.height,
            "header": header.to_dict(), "txs": txs}


def reproposal_body(chain: str, sender: str, view: int, header: BlockHeader, digest: str) -> dict:
    """A NEW-VIEW's PRE-PREPARE: the digest form; the new primary need not hold the body to sign it."""
    return {"t": m.PREPREPARE, "chain": chain, "from": sender, "view": view, "height": header.height,
            "header": header.to_dict(), "txs_digest": digest}


def newview_body(chain: str, sender: str, view: int, infos: list[ViewChangeInfo], pps: list[m.Envelope]) -> dict:
    return {"t": m.NEWVIEW, "chain": chain, "from": sender, "view": view,
            "viewchanges": [m.embed(i.env) for i in infos], "preprepares": [m.embed(e) for e in pps]}


def check_newview(env: m.Envelope, validators: ValidatorSet, verify: Verify, window: int):
    """The VIEW-CHANGE infos, the starting checkpoint with its proof, and the PRE-PREPAREs to install."""
    b = env.body
    view = b["view"]
    if env.sender != validators.primary(view):
        raise InvalidViewChange("NEW-VIEW not from the primary of its view")
    try:
        vcs = [m.unembed(x) for x in b["viewchanges"]]
        pps = [m.unembed(x) for x in b["preprepares"]]
    except m.MessageError as exc:
        raise InvalidViewChange(f"embedded message is malformed: {exc}") from exc
    infos, senders = [], set()
    for vc in vcs:
        if vc.kind != m.VIEWCHANGE or vc.body["view"] != view or vc.sender in senders:
            raise InvalidViewChange("NEW-VIEW holds a wrong or repeated VIEW-CHANGE")
        if verify(vc) is not None:
            raise InvalidViewChange("NEW-VIEW holds a badly signed VIEW-CHANGE")
        senders.add(vc.sender)
        infos.append(check_viewchange(vc, validators, verify, window))
    if len(senders) < validators.quorum:
        raise InvalidViewChange("NEW-VIEW does not hold a quorum of VIEW-CHANGEs")
    start, plan = plan_new_view(infos, validators, view)
    if len(pps) != len(plan):
        raise InvalidViewChange("NEW-VIEW re-proposes the wrong number of blocks")
    for pp, (h, header, digest) in zip(pps, plan):
        pb = pp.body
        if pp.kind != m.PREPREPARE or pp.sender != env.sender or pb["view"] != view or pb["height"] != h:
            raise InvalidViewChange("NEW-VIEW PRE-PREPARE has the wrong view, height or sender")
        if not pp.is_digest_form:
            raise InvalidViewChange("NEW-VIEW PRE-PREPARE is not in its digest form")
        if pb["header"] != header.to_dict() or pp.txs_digest != digest or verify(pp) is not None:
            raise InvalidViewChange("NEW-VIEW PRE-PREPARE differs from the recomputed plan")
    start_proof = next(i for i in infos if i.checkpoint == start)
    return infos, start, start_proof, pps
