"""The measurement record a test box signs: its canonical form, validation, signature and replay rule.

A record is a plain dict (see docs/calibration-field.md). Quantities are integers in the fixed units of
UNITS, money is a decimal string with exactly four places: no floats anywhere, and one value has one
encoding, so the box, the agent and every node derive the same signed bytes.
"""

from __future__ import annotations

import re

from ledger.chain.crypto import PublicKey, SigningKey
from ledger.chain.encoding import canonical

FORMAT = "pilechain.fieldbox.record.v1"
# Domain tag: a record signature can never be replayed as a signature over another kind of message
# made with the same device key, and vice versa.
DOMAIN = b"pilechain/fieldbox-record/v1\x00"
UNITS = {
    "energy": "mWh", "voltage": "mV", "current": "mA", "duration": "ms", "clock": "ms",
    "amount": "CNY", "tariff": "CNY/kWh",
}
_U16, _U32, _U63, _U64 = 2**16, 2**32, 2**63, 2**64
# field -> (upper bound from its register width, smallest allowed value, unit name in UNITS)
LOAD_POINT_KEYS = {
    "current_ma": (_U32, 1, "current"),
    "voltage_mv": (_U32, 1, "voltage"),
    "duration_ms": (_U32, 0, "duration"),
    "standard_energy_mwh": (_U64, 1, "energy"),
    "indicated_energy_mwh": (_U64, 0, "energy"),
}
INDICATION_KEYS = {"standard_energy_mwh": (_U64, 1, "energy"), "displayed_energy_mwh": (_U64, 0, "energy")}
CLOCK_KEYS = {"pile_ms": (_U63, 0, "clock"), "reference_ms": (_U63, 0, "clock")}
MAX_LOAD_POINTS = 8
_MONEY = re.compile(r"^(0|[1-9][0-9]{0,14})\.[0-9]{4}$")
# Box serials and pile codes as the registry allows them (pile codes are also OCPP identities: 48 at most).
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
_PILE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{1,47}$")
RECORD_KEYS = ("format", "box_serial", "sequence", "pile_code", "timestamp_ms", "units",
               "load_points", "indication", "billing", "clock")


class FieldboxError(ValueError):
    """Base of every error about a test box record."""


class RecordFormatError(FieldboxError):
    """The record is not shaped as FORMAT says."""


class UnitError(RecordFormatError):
    """A quantity in the wrong unit or of the wrong type (kWh for mWh, a float, a negative energy)."""


class SignatureError(FieldboxError):
    """The signature is missing, of the wrong algorithm, or does not verify with the box's key."""


class ReplayError(FieldboxError):
    """A sequence number that is not above the last one accepted from the same box."""


def build_record(*, box_serial, sequence, pile_code, timestamp_ms, load_points, indication, billing, clock):
    """An unsigned record from its parts; validated, so a box cannot sign something nodes would refuse."""
    record = {
        "format": FORMAT, "box_serial": box_serial, "sequence": sequence, "pile_code": pile_code,
        "timestamp_ms": timestamp_ms, "units": dict(UNITS), "load_points": [dict(p) for p in load_points],
        "indication": dict(indication), "billing": dict(billing), "clock": dict(clock),
    }
    validate_record(record, signed=False)
    return record


def validate_record(record, *, signed: bool = True) -> None:
    if not isinstance(record, dict):
        raise RecordFormatError("a record is a JSON object")
    expected = set(RECORD_KEYS) | ({"signature"} if signed else set())
    _exact_keys(record, expected, "record")
    if record["format"] != FORMAT:
        raise RecordFormatError(f"format is {record['format']!r}, expected {FORMAT!r}")
    if not isinstance(record["box_serial"], str) or not _SERIAL.match(record["box_serial"]):
        raise RecordFormatError("box_serial must be 2-64 letters, digits, '.', '_' or '-'")
    if not valid_pile_code(record["pile_code"]):
        raise RecordFormatError("pile_code must be 2-48 letters, digits, '.', '_', '~' or '-'")
    _integer(record["sequence"], "sequence", 1, _U32)
    _integer(record["timestamp_ms"], "timestamp_ms", 0, _U63, unit="clock")
    _check_units(record["units"])
    points = record["load_points"]
    if not isinstance(points, list) or not points:
        raise RecordFormatError("load_points: at least one load point is required")
    if len(points) > MAX_LOAD_POINTS:
        raise RecordFormatError(f"load_points: at most {MAX_LOAD_POINTS} load points")
    for i, point in enumerate(points):
        _quantities(point, LOAD_POINT_KEYS, f"load_points[{i}]")
    _quantities(record["indication"], INDICATION_KEYS, "indication")
    _check_billing(record["billing"])
    _quantities(record["clock"], CLOCK_KEYS, "clock")
    if signed:
        _check_signature_shape(record["signature"])


def valid_pile_code(code) -> bool:
    return isinstance(code, str) and bool(_PILE_CODE.match(code))


def _exact_keys(obj, expected: set, path: str) -> None:
    if not isinstance(obj, dict):
        raise RecordFormatError(f"{path} must be an object")
    missing = sorted(expected - set(obj))
    if missing:
        raise RecordFormatError(f"{path}: missing {', '.join(missing)}")
    extra = sorted(set(obj) - expected)
    if extra:
        message = f"{path}: unexpected field {', '.join(extra)}"
        # A field named in another energy unit is the usual mistake of a hand-edited or foreign record.
        if any(k.lower().endswith(("_kwh", "_wh")) for k in extra):
            raise UnitError(message + " (energies are integer mWh, in *_mwh fields)")
        raise RecordFormatError(message)


def _integer(value, path: str, low: int, high: int, unit: str | None = None) -> None:
    unit_text = f" {UNITS[unit]}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnitError(f"{path}: must be an integer number of{unit_text or ' units'}, got {value!r}")
    if not low <= value < high:
        raise UnitError(f"{path}: {value}{unit_text} is out of range ({low} to {high - 1})")


def _quantities(obj, spec: dict, path: str) -> None:
    _exact_keys(obj, set(spec), path)
    for key, (high, low, unit) in spec.items():
        _integer(obj[key], f"{path}.{key}", low, high, unit)


def _check_units(units) -> None:
    if not isinstance(units, dict):
        raise UnitError("units must be an object")
    for quantity, unit in UNITS.items():
        if units.get(quantity) != unit:
            raise UnitError(f"units.{quantity} is {units.get(quantity)!r}: this record format carries "
                            f"{quantity} in {unit} only")
    extra = sorted(set(units) - set(UNITS))
    if extra:
        raise UnitError(f"units: unexpected quantity {', '.join(extra)}")


def _check_billing(billing) -> None:
    _exact_keys(billing, {"energy_mwh", "tariff_cny_per_kwh", "billed_cny"}, "billing")
    _integer(billing["energy_mwh"], "billing.energy_mwh", 0, _U64, unit="energy")
    for key in ("tariff_cny_per_kwh", "billed_cny"):
        if not isinstance(billing[key], str) or not _MONEY.match(billing[key]):
            raise UnitError(f"billing.{key}: must be a decimal string with exactly 4 places, "
                            f"like '1.2300', got {billing[key]!r}")


def _check_signature_shape(signature) -> None:
    if not isinstance(signature, dict) or set(signature) != {"alg", "value"}:
        raise SignatureError("signature must be an object with alg and value")
    if signature["alg"] not in ("ed25519", "p256"):
        raise SignatureError(f"signature.alg {signature['alg']!r} is not ed25519 or p256")
    value = signature["value"]
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{128}", value):
        raise SignatureError("signature.value must be 64 bytes as lower-case hex")


def unsigned(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "signature"}


def signing_bytes(record: dict) -> bytes:
    return DOMAIN + canonical(unsigned(record))


def sign_record(record: dict, key: SigningKey) -> dict:
    validate_record(unsigned(record), signed=False)
    signature = key.sign(signing_bytes(record))
    return {**unsigned(record), "signature": {"alg": key.kind, "value": signature.hex()}}


def verify_record(record, public_key: PublicKey) -> dict:
    """The record, if it is well formed and signed by `public_key` (the box's registered key)."""
    validate_record(record, signed=True)
    if record["signature"]["alg"] != public_key.kind:
        raise SignatureError(f"record is signed with {record['signature']['alg']}, but box "
                             f"{record['box_serial']} has a {public_key.kind} key")
    if not public_key.verify(bytes.fromhex(record["signature"]["value"]), signing_bytes(record)):
        raise SignatureError(f"signature does not verify with the key of box {record['box_serial']}: "
                             "the record was altered or signed by another key")
    return record


def check_sequence(sequence: int, last_seen: int | None) -> None:
    """Replay rule: a box's sequence numbers strictly increase; `last_seen` is the highest accepted so far."""
    if last_seen is not None and sequence <= last_seen:
        raise ReplayError(f"sequence {sequence} is not above {last_seen}, the last accepted from this box: "
                          "a replayed or out-of-order record")
