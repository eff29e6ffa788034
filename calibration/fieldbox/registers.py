"""The test box's Modbus register map and the conversion between registers and values.

Addresses are the 0-based protocol addresses of the PDU (add 30001/40001 for the 1-based "register
numbers" some tools show). Input registers (function 4) hold everything the box measured and signed;
holding registers (functions 3, 6, 16) hold what the agent tells the box. Multi-word integers are
big-endian: the most significant word first, as most meters do. Text is ASCII, two characters per
register, high byte first, padded with NUL. Everything is an unsigned integer in a fixed unit, so a
record decoded from registers is exactly the record the box signed.
"""

from __future__ import annotations

from dataclasses import dataclass

MAP_VERSION = 1
MAX_LOAD_POINTS = 8
LOAD_POINT_BASE = 100
LOAD_POINT_STRIDE = 16
SIGNATURE_BYTES = 64

# STATUS values
IDLE, MEASURING, POINT_DONE, SEALED, FAULT = 0, 1, 2, 3, 4
STATUS_NAMES = {IDLE: "idle", MEASURING: "measuring", POINT_DONE: "load point done", SEALED: "record sealed",
                FAULT: "fault"}

# COMMAND values (written to the holding register COMMAND)
CMD_NEW_RECORD, CMD_MEASURE, CMD_SEAL = 1, 2, 3

# ERROR_CODE values: why the last command was refused
ERRORS = {
    0: "no error",
    1: "unknown command",
    2: "no pile code written before NEW_RECORD",
    3: "no record open: send NEW_RECORD first",
    4: "load point table full",
    5: "load current or energy setpoint is zero or out of range",
    6: "busy measuring",
    7: "no load point measured: nothing to seal",
}

KEY_KINDS = {1: "ed25519", 2: "p256"}


@dataclass(frozen=True)
class Field:
    name: str
    table: str          # "input" or "holding"
    address: int
    words: int
    kind: str           # "u16", "u32", "u64", "ascii", "bytes"
    unit: str
    description: str


def _f(name, table, address, kind, unit, description, words=None):
    words = words or {"u16": 1, "u32": 2, "u64": 4}[kind]
    return Field(name, table, address, words, kind, unit, description)


INPUT_FIELDS = [
    _f("MAP_VERSION", "input", 0, "u16", "-", "register map version, 1"),
    _f("STATUS", "input", 1, "u16", "-", "0 idle, 1 measuring, 2 load point done, 3 record sealed, 4 fault"),
    _f("RECORD_READY", "input", 2, "u16", "-", "1 when a sealed, signed record can be read, else 0"),
    _f("ERROR_CODE", "input", 3, "u16", "-", "why the last command was refused (0 none)"),
    _f("KEY_KIND", "input", 4, "u16", "-", "device key: 1 Ed25519, 2 ECDSA P-256"),
    _f("LOAD_POINT_COUNT", "input", 5, "u16", "-", "load points in the open or sealed record"),
    _f("CERT_EXPIRES", "input", 6, "u32", "YYYYMMDD", "expiry of the box's own verification certificate"),
    _f("BOX_SERIAL", "input", 8, "ascii", "-", "box serial, 64 characters", words=32),
    _f("SEQUENCE", "input", 40, "u32", "-", "record sequence number, strictly increasing per box"),
    _f("TIMESTAMP_MS", "input", 42, "u64", "ms", "when the record was sealed, Unix time by the box's clock"),
    _f("PILE_CODE", "input", 46, "ascii", "-", "the pile under test, as written by the agent", words=24),
    _f("BILLED_AMOUNT", "input", 70, "u64", "0.0001 CNY", "amount the pile billed for the session"),
    _f("TARIFF", "input", 74, "u32", "0.0001 CNY/kWh", "tariff the pile applied"),
    _f("IND_STANDARD_MWH", "input", 76, "u64", "mWh", "standard meter's energy over the whole session"),
    _f("IND_DISPLAYED_MWH", "input", 80, "u64", "mWh", "increase of the pile's displayed energy"),
    _f("BILLED_ENERGY_MWH", "input", 84, "u64", "mWh", "energy on the pile's bill"),
    _f("PILE_CLOCK_MS", "input", 88, "u64", "ms", "the pile's clock, Unix time"),
    _f("REFERENCE_CLOCK_MS", "input", 92, "u64", "ms", "the box's reference clock at the same instant"),
    _f("PUBLIC_KEY_LEN", "input", 96, "u16", "bytes", "length of PUBLIC_KEY (32 Ed25519, 65 P-256)"),
    _f("SIGNATURE", "input", 240, "bytes", "-", "64-byte signature of the sealed record", words=32),
    _f("PUBLIC_KEY", "input", 280, "bytes", "-", "device public key, for enrolment only", words=33),
]

# One row of the load point table at LOAD_POINT_BASE + i * LOAD_POINT_STRIDE, i < MAX_LOAD_POINTS.
LOAD_POINT_FIELDS = [
    _f("current_ma", "input", 0, "u32", "mA", "measured current"),
    _f("voltage_mv", "input", 2, "u32", "mV", "measured voltage"),
    _f("duration_ms", "input", 4, "u32", "ms", "measuring time"),
    _f("standard_energy_mwh", "input", 6, "u64", "mWh", "energy by the box's standard meter"),
    _f("indicated_energy_mwh", "input", 10, "u64", "mWh", "energy indicated by the pile's meter"),
]

HOLDING_FIELDS = [
    _f("COMMAND", "holding", 0, "u16", "-", "write 1 NEW_RECORD, 2 MEASURE, 3 SEAL"),
    _f("LOAD_CURRENT_MA", "holding", 2, "u32", "mA", "load current for the next MEASURE"),
    _f("LOAD_ENERGY_MWH", "holding", 4, "u32", "mWh", "energy to run at the next load point"),
    _f("PILE_CODE", "holding", 8, "ascii", "-", "code of the pile under test (before NEW_RECORD)", words=24),
]

INPUT = {f.name: f for f in INPUT_FIELDS}
HOLDING = {f.name: f for f in HOLDING_FIELDS}
INPUT_SIZE = 320
HOLDING_SIZE = 32
# The blocks the agent reads in one request each (a Modbus read is at most 125 registers).
HEADER_SPAN = (0, 97)
SIGNATURE_SPAN = (240, 73)


class RegisterError(ValueError):
    """A value that does not fit its register field, or registers that do not decode."""


def encode(field: Field, value) -> list[int]:
    if field.kind in ("u16", "u32", "u64"):
        bits = 16 * field.words
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**bits:
            raise RegisterError(f"{field.name}: {value!r} is not an unsigned {bits}-bit integer")
        return [(value >> (16 * (field.words - 1 - i))) & 0xFFFF for i in range(field.words)]
    if field.kind == "ascii":
        if not isinstance(value, str) or not value.isascii() or "\x00" in value:
            raise RegisterError(f"{field.name}: text must be ASCII without NUL")
        data = value.encode("ascii")
    else:
        data = bytes(value)
    if len(data) > 2 * field.words:
        raise RegisterError(f"{field.name}: {len(data)} bytes do not fit {field.words} registers")
    return _bytes_to_words(data.ljust(2 * field.words, b"\x00"))


def decode(field: Field, words: list[int]):
    if len(words) != field.words:
        raise RegisterError(f"{field.name}: expected {field.words} registers, got {len(words)}")
    if field.kind in ("u16", "u32", "u64"):
        value = 0
        for word in words:
            value = (value << 16) | (word & 0xFFFF)
        return value
    data = _words_to_bytes(words)
    if field.kind == "ascii":
        text = data.rstrip(b"\x00")
        if b"\x00" in text or not text.isascii():
            raise RegisterError(f"{field.name}: not NUL-padded ASCII text")
        return text.decode("ascii")
    return data


def _bytes_to_words(data: bytes) -> list[int]:
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]


def _words_to_bytes(words: list[int]) -> bytes:
    return b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in words)


def put(image: list[int], field: Field, value, base: int = 0) -> None:
    """Write a field's value into a register image (a list indexed by address)."""
    start = base + field.address
    image[start:start + field.words] = encode(field, value)


def get(image: list[int], field: Field, base: int = 0, offset: int = 0):
    """Read a field from registers; `offset` is the address of image[0] when image is a slice."""
    start = base + field.address - offset
    return decode(field, image[start:start + field.words])


def load_point_base(index: int) -> int:
    if not 0 <= index < MAX_LOAD_POINTS:
        raise RegisterError(f"load point index {index} outside 0..{MAX_LOAD_POINTS - 1}")
    return LOAD_POINT_BASE + index * LOAD_POINT_STRIDE


def markdown_table() -> str:
    """The register map as the table in docs/calibration-field.md (kept there by hand, checked by a test)."""
    rows = ["| table | address | words | type | unit | name | meaning |", "|---|---|---|---|---|---|---|"]
    def row(f, address):
        rows.append(f"| {f.table} | {address} | {f.words} | {f.kind} | {f.unit} | {f.name} | {f.description} |")
    for f in INPUT_FIELDS:
        if f.address == INPUT["SIGNATURE"].address:
            for p in LOAD_POINT_FIELDS:  # the table of rows i = 0..7 sits between the header and the signature
                row(p, f"{LOAD_POINT_BASE}+{LOAD_POINT_STRIDE}i+{p.address}")
        row(f, f.address)
    for f in HOLDING_FIELDS:
        row(f, f.address)
    return "\n".join(rows)
