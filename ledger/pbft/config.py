"""What a replica needs to know about itself and the consortium; no state, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ledger.chain.block import ZERO_HASH, ValidatorSet
from ledger.chain.crypto import SigningKey
from ledger.chain.tx import Transaction


@dataclass(frozen=True)
class ReplicaConfig:
    validators: ValidatorSet
    replica_id: str
    signing_key: SigningKey
    # Device keys live in the application, so the runtime decides whether a request's signature holds.
    verify_request: Callable[[Transaction], bool]
    checkpoint_interval: int = 4  # K
    window: int = 8  # L: heights accepted are (stable checkpoint, stable checkpoint + L]
    batch_max: int = 64
    batch_wait_ticks: int = 2
    request_timeout_ticks: int = 40
    view_change_timeout_ticks: int = 40
    status_interval_ticks: int = 10
    heartbeat_ticks: int = 100  # an idle replica still reports its height this often
    fetch_timeout_ticks: int = 10
    fetch_max_blocks: int = 16
    timestamp_tolerance_ms: int = 2000
    genesis_state_root: str = ZERO_HASH

    def __post_init__(self):
        if self.validators.key(self.replica_id) is None:
            raise ValueError(f"{self.replica_id} is not a validator")
        if self.validators.key(self.replica_id) != self.signing_key.public_key:
            raise ValueError("the signing key does not match the validator's public key")
        if self.window < 2 * self.checkpoint_interval:
            # A replica must be able to keep ordering while the next checkpoint stabilises.
            raise ValueError("window must be at least twice the checkpoint interval")
        if self.batch_max < 1 or self.checkpoint_interval < 1:
            raise ValueError("batch_max and checkpoint_interval must be positive")

    @property
    def chain_id(self) -> str:
        return self.validators.chain_id

    @property
    def n(self) -> int:
        return self.validators.n

    @property
    def f(self) -> int:
        return self.validators.f

    @property
    def quorum(self) -> int:
        return self.validators.quorum

    def peers(self) -> tuple[str, ...]:
        return tuple(v for v in self.validators.ids() if v != self.replica_id)
