"""Typed view of an OCMF record. Field names are spelled out; the OCMF key is in each comment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Mapping


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


class TimeSync(StrEnum):
    """Synchronisation state appended to TM (OCMF table 19)."""

    UNKNOWN = "U"  # unsynchronised
    INFORMATIVE = "I"  # info clock
    SYNCHRONIZED = "S"
    RELATIVE = "R"  # legally accurate duration counted from an informative start time


class TransactionCode(StrEnum):
    """TX: why the reading was taken."""

    BEGIN = "B"
    CHARGING = "C"
    EXCEPTION = "X"  # error during charging: time and/or energy unusable from this reading on
    END = "E"
    LOCAL_END = "L"
    REMOTE_END = "R"
    ABORT = "A"  # ended by an error
    POWER_FAILURE = "P"
    SUSPENDED = "S"
    TARIFF_CHANGE = "T"


END_CODES = frozenset(
    {
        TransactionCode.END,
        TransactionCode.LOCAL_END,
        TransactionCode.REMOTE_END,
        TransactionCode.ABORT,
        TransactionCode.POWER_FAILURE,
    }
)


class MeterStatus(StrEnum):
    """ST (OCMF table 10). Only GOOD means the meter was working."""

    NOT_PRESENT = "N"
    GOOD = "G"
    TIMEOUT = "T"
    DISCONNECTED = "D"
    NOT_FOUND = "R"
    MANIPULATED = "M"
    EXCHANGED = "X"
    INCOMPATIBLE = "I"
    OUT_OF_RANGE = "O"
    SUBSTITUTE = "S"
    OTHER_ERROR = "E"
    READ_ERROR = "F"


# EF characters: each names a quantity that is no longer usable for billing.
ERROR_FLAGS = {"E": "energy", "t": "time"}


@dataclass(frozen=True)
class ReadingTime:
    """TM: `2019-08-13T10:03:15,000+0000 I`."""

    at: datetime  # timezone-aware, millisecond resolution
    sync: TimeSync
    text: str  # as signed


@dataclass(frozen=True)
class Reading:
    """One element of RD, after inheriting omitted fields from the previous element."""

    time: ReadingTime  # TM
    transaction: TransactionCode | None  # TX; None outside a transaction (fiscal metering)
    value: Decimal | None  # RV, exactly as written; None for an event-only reading
    obis: str | None  # RI, e.g. "1-b:1.8.0"
    unit: str | None  # RU: kWh, Wh, mOhm, uOhm (or a vendor unit, kept as is)
    current_type: str | None  # RT: AC / DC
    cumulated_loss: Decimal | None  # CL, same unit as RV
    error_flags: str  # EF, "" when none
    status: MeterStatus  # ST
    mwh: int | None  # RV in exact integer mWh when RU is an energy unit, else None
    extra: Mapping[str, Any] = field(default_factory=_empty)  # unknown keys (vendor fields such as EI)

    @property
    def has_errors(self) -> bool:
        return bool(self.error_flags) or self.status is not MeterStatus.GOOD


@dataclass(frozen=True)
class Pagination:
    """PG: `T32` = transaction context, counter 32."""

    context: str  # "T" transaction, "F" fiscal
    counter: int


@dataclass(frozen=True)
class LossCompensation:
    """LC: the cable resistance used for loss compensation."""

    name: str | None  # LN
    identification: Decimal | int | None  # LI
    resistance: Decimal | int  # LR
    unit: str  # LU: mOhm / uOhm


@dataclass(frozen=True)
class Payload:
    format_version: str | None  # FV
    gateway_id: str | None  # GI
    gateway_serial: str | None  # GS
    gateway_version: str | None  # GV
    pagination: Pagination  # PG
    meter_vendor: str | None  # MV
    meter_model: str | None  # MM
    meter_serial: str | None  # MS
    meter_firmware: str | None  # MF
    identification_status: bool | None  # IS; None outside a transaction
    identification_level: str | None  # IL
    identification_flags: tuple[str, ...]  # IF
    identification_type: str | None  # IT
    identification_data: str | None  # ID
    tariff_text: str | None  # TT
    charge_controller_version: str | None  # CCV
    loss_compensation: LossCompensation | None  # LC
    charge_point_id_type: str | None  # CT
    charge_point_id: str | None  # CI
    readings: tuple[Reading, ...]  # RD
    extra: Mapping[str, Any] = field(default_factory=_empty)  # unknown and vendor keys (U..Z), as parsed


DEFAULT_ALGORITHM = "ECDSA-secp256r1-SHA256"


@dataclass(frozen=True)
class Signature:
    algorithm: str  # SA, defaulted
    encoding: str  # SE: hex (default) / base64
    mime_type: str  # SM: application/x-der (default)
    data: str  # SD, undecoded
    extra: Mapping[str, Any] = field(default_factory=_empty)


@dataclass(frozen=True)
class Record:
    """A parsed OCMF string. `signed_bytes` is exactly what the meter signed."""

    payload: Payload
    signature: Signature
    signed_bytes: bytes
    # Departures from the letter of the specification that real meters make and that we accept
    # (a number where a string is due, RV as a string, ...): kept so operators can see them.
    deviations: tuple[str, ...] = ()
