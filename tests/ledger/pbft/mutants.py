"""Deliberately broken replicas, as test-only subclasses: the simulator must catch each of them."""

from __future__ import annotations

from ledger.chain.block import ValidatorSet
from ledger.pbft.replica import Replica
from ledger.pbft.viewchange import viewchange_body


class _WeakQuorumSet(ValidatorSet):
    @property
    def quorum(self) -> int:
        return self.f + 1


class WeakQuorumReplica(Replica):
    """Counts f+1 votes as a quorum (prepared, committed, checkpoints, view changes)."""

    def __init__(self, config):
        super().__init__(config)
        self.vs = _WeakQuorumSet(config.validators.chain_id, config.validators.validators)


class ForgetfulViewChangeReplica(Replica):
    """Sends VIEW-CHANGE without its prepared certificates."""

    def _viewchange_body(self, view, certs):
        return viewchange_body(self.chain, self.id, view, self.stable, self.stable_proof, {})


MUTANTS = {"weak-quorum": WeakQuorumReplica, "forgetful-view-change": ForgetfulViewChangeReplica}
