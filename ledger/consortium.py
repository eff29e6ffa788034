"""The consortium definition: who the member institutions are, where their nodes listen, their keys.

It lives in platform/ as JSON (one file every node holds, byte for byte the same), because it is
deployment data, not code. The genesis block commits to its hash, so nodes with different
definitions refuse each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.chain.block import Validator, ValidatorSet
from ledger.chain.crypto import ED25519, InvalidKey, PublicKey
from ledger.chain.encoding import canonical, sha256

ROLES = ("operator", "metrology", "grid", "regulator")


class ConsortiumError(ValueError):
    """A consortium definition that cannot be used."""


@dataclass(frozen=True)
class Member:
    code: str
    name: str
    role: str
    url: str
    signing_key: PublicKey  # Ed25519: signs PBFT messages and the node's transactions
    encryption_key: str  # X25519 public key, hex: sealed payload sections are wrapped to it

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "role": self.role,
            "url": self.url,
            "signing_key": self.signing_key.hex,
            "encryption_key": self.encryption_key,
        }


DEFAULT_TIME_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Rules:
    """The parameters the contracts' rules use, agreed by the consortium: part of the definition, so
    of its digest and of the genesis, never a node's own setting."""

    # The business time zone: local days (availability, calibration due dates) and settlement periods.
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self):
        if not isinstance(self.time_zone, str):
            raise ConsortiumError("rules.time_zone must be an IANA zone name")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConsortiumError(f"rules.time_zone {self.time_zone!r} is not a known IANA zone") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def to_dict(self) -> dict:
        return {"time_zone": self.time_zone}

    @classmethod
    def from_dict(cls, data: dict) -> "Rules":
        if not isinstance(data, dict) or set(data) - {"time_zone"}:
            raise ConsortiumError("rules holds only: time_zone")
        return cls(**data)


@dataclass(frozen=True)
class LivePath:
    """How members share the live state of their piles (monitoring.live): agreed by the consortium,
    so that no operator samples less often than the others expect."""

    # A connector's power and energy register go on the live path at most once per this many seconds.
    meter_sample_s: int = 10

    def __post_init__(self):
        if isinstance(self.meter_sample_s, bool) or not isinstance(self.meter_sample_s, int) or not 1 <= self.meter_sample_s <= 3600:
            raise ConsortiumError("live.meter_sample_s must be whole seconds from 1 to 3600")

    def to_dict(self) -> dict:
        return {"meter_sample_s": self.meter_sample_s}

    @classmethod
    def from_dict(cls, data: dict) -> "LivePath":
        if not isinstance(data, dict) or set(data) - {"meter_sample_s"}:
            raise ConsortiumError("live holds only: meter_sample_s")
        return cls(**data)


def _whole(value, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


@dataclass(frozen=True)
class Intervals:
    """The agreed intervals (monitoring.intervals, docs/intervals.md): every operator's node reports
    each interval of its piles, and availability, load and subsidies are computed from the reports."""

    # The length of an interval: intervals start at midnight UTC and tile the day.
    length_s: int = 900
    # A report may be corrected once within this many seconds after its interval ends.
    correction_window_s: int = 3600
    # Planned maintenance excluded from outage, per connector per calendar year (local).
    maintenance_cap_s: int = 72 * 3600

    KEYS = ("length_s", "correction_window_s", "maintenance_cap_s")

    def __post_init__(self):
        # Dividing 15 minutes, an interval never straddles a local midnight: every zone's offset is a
        # multiple of 15 minutes.
        if not _whole(self.length_s, 1, 900) or 900 % self.length_s:
            raise ConsortiumError("intervals.length_s must be whole seconds that divide 15 minutes (900)")
        if not _whole(self.correction_window_s, 0, 7 * 86400):
            raise ConsortiumError("intervals.correction_window_s must be whole seconds from 0 to 604800 (a week)")
        if not _whole(self.maintenance_cap_s, 0, 366 * 86400):
            raise ConsortiumError("intervals.maintenance_cap_s must be whole seconds from 0 to a year")

    def to_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.KEYS}

    @classmethod
    def from_dict(cls, data: dict) -> "Intervals":
        if not isinstance(data, dict) or set(data) - set(cls.KEYS):
            raise ConsortiumError(f"intervals holds only: {', '.join(cls.KEYS)}")
        return cls(**data)


@dataclass(frozen=True)
class Consortium:
    chain_id: str
    members: tuple[Member, ...]
    checkpoint_interval: int = 16
    genesis_time_ms: int = 0
    timeouts: dict = field(default_factory=dict)
    rules: Rules = field(default_factory=Rules)
    live: LivePath = field(default_factory=LivePath)
    intervals: Intervals = field(default_factory=Intervals)

    def __post_init__(self):
        codes = [m.code for m in self.members]
        if len(set(codes)) != len(codes):
            raise ConsortiumError("member codes must be distinct")
        if len(codes) < 4:
            raise ConsortiumError("a PBFT consortium needs at least 4 member nodes")
        object.__setattr__(self, "_by_code", {m.code: m for m in self.members})

    def member(self, code: str) -> Member | None:
        return self._by_code.get(code)

    def role_of(self, code: str) -> str | None:
        member = self.member(code)
        return member.role if member else None

    def validators(self) -> ValidatorSet:
        return ValidatorSet(self.chain_id, tuple(Validator(m.code, m.signing_key) for m in self.members))

    def to_dict(self) -> dict:
        return {
            "chain_id": self.chain_id,
            "checkpoint_interval": self.checkpoint_interval,
            "genesis_time_ms": self.genesis_time_ms,
            "timeouts": self.timeouts,
            "rules": self.rules.to_dict(),
            "live": self.live.to_dict(),
            "intervals": self.intervals.to_dict(),
            "members": [m.to_dict() for m in self.members],
        }

    def digest(self) -> str:
        return sha256(canonical(self.to_dict())).hex()

    @classmethod
    def from_dict(cls, data: dict) -> "Consortium":
        try:
            members = []
            for raw in data["members"]:
                if raw["role"] not in ROLES:
                    raise ConsortiumError(f"member {raw.get('code')}: role must be one of {', '.join(ROLES)}")
                key = PublicKey.from_hex(ED25519, raw["signing_key"])
                enc = bytes.fromhex(raw["encryption_key"])
                if len(enc) != 32:
                    raise ConsortiumError(f"member {raw['code']}: the X25519 key is 32 bytes")
                members.append(
                    Member(
                        code=raw["code"],
                        name=raw.get("name", raw["code"]),
                        role=raw["role"],
                        url=raw["url"].rstrip("/"),
                        signing_key=key,
                        encryption_key=enc.hex(),
                    )
                )
            return cls(
                chain_id=data["chain_id"],
                members=tuple(members),
                checkpoint_interval=int(data.get("checkpoint_interval", 16)),
                genesis_time_ms=int(data.get("genesis_time_ms", 0)),
                timeouts=dict(data.get("timeouts", {})),
                rules=Rules.from_dict(data.get("rules", {})),
                live=LivePath.from_dict(data.get("live", {})),
                intervals=Intervals.from_dict(data.get("intervals", {})),
            )
        except (KeyError, TypeError, ValueError, InvalidKey) as exc:
            if isinstance(exc, ConsortiumError):
                raise
            raise ConsortiumError(f"invalid consortium definition: {exc!r}") from exc

    @classmethod
    def load(cls, path: Path | str) -> "Consortium":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConsortiumError(f"cannot read the consortium definition {path}: {exc}") from exc
        return cls.from_dict(data)
