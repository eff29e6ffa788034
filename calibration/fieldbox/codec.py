"""A record in registers and back: the box writes with `put_record`, the agent reads with `record_from_registers`.

The round trip is exact (integers in fixed units, money in 0.0001 CNY), so the agent rebuilds the very
bytes the box signed and any change on the way shows up as a bad signature.
"""

from __future__ import annotations

from calibration.fieldbox import record as rec
from calibration.fieldbox import registers as reg

_HEADER = {
    "SEQUENCE": "sequence", "TIMESTAMP_MS": "timestamp_ms", "BOX_SERIAL": "box_serial", "PILE_CODE": "pile_code",
}


def money_to_e4(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 10_000 + int(frac)


def money_from_e4(value: int) -> str:
    return f"{value // 10_000}.{value % 10_000:04d}"


def put_record(image: list[int], record: dict) -> None:
    """Write a validated record (signed or not) into an input register image."""
    for name, key in _HEADER.items():
        reg.put(image, reg.INPUT[name], record[key])
    reg.put(image, reg.INPUT["LOAD_POINT_COUNT"], len(record["load_points"]))
    for i, point in enumerate(record["load_points"]):
        for field in reg.LOAD_POINT_FIELDS:
            reg.put(image, field, point[field.name], base=reg.load_point_base(i))
    billing, indication, clock = record["billing"], record["indication"], record["clock"]
    reg.put(image, reg.INPUT["BILLED_AMOUNT"], money_to_e4(billing["billed_cny"]))
    reg.put(image, reg.INPUT["TARIFF"], money_to_e4(billing["tariff_cny_per_kwh"]))
    reg.put(image, reg.INPUT["BILLED_ENERGY_MWH"], billing["energy_mwh"])
    reg.put(image, reg.INPUT["IND_STANDARD_MWH"], indication["standard_energy_mwh"])
    reg.put(image, reg.INPUT["IND_DISPLAYED_MWH"], indication["displayed_energy_mwh"])
    reg.put(image, reg.INPUT["PILE_CLOCK_MS"], clock["pile_ms"])
    reg.put(image, reg.INPUT["REFERENCE_CLOCK_MS"], clock["reference_ms"])
    if "signature" in record:
        reg.put(image, reg.INPUT["SIGNATURE"], bytes.fromhex(record["signature"]["value"]))


def record_from_registers(header: list[int], points: list[int], signature_block: list[int]) -> dict:
    """The signed record from three reads: HEADER_SPAN, the load point rows, SIGNATURE_SPAN.

    `points` starts at LOAD_POINT_BASE and holds LOAD_POINT_COUNT rows. The result is validated.
    """
    def h(name):
        return reg.get(header, reg.INPUT[name], offset=reg.HEADER_SPAN[0])

    count = h("LOAD_POINT_COUNT")
    if not 1 <= count <= reg.MAX_LOAD_POINTS:
        raise rec.RecordFormatError(f"the box reports {count} load points; a record has 1 to {reg.MAX_LOAD_POINTS}")
    if len(points) < count * reg.LOAD_POINT_STRIDE:
        raise reg.RegisterError(f"{count} load point rows need {count * reg.LOAD_POINT_STRIDE} registers")
    load_points = [
        {f.name: reg.get(points, f, base=i * reg.LOAD_POINT_STRIDE) for f in reg.LOAD_POINT_FIELDS}
        for i in range(count)
    ]
    kind = reg.KEY_KINDS.get(h("KEY_KIND"))
    if kind is None:
        raise rec.SignatureError(f"the box reports an unknown key kind {h('KEY_KIND')}")
    signature = reg.get(signature_block, reg.INPUT["SIGNATURE"], offset=reg.SIGNATURE_SPAN[0])
    record = {
        "format": rec.FORMAT,
        **{key: h(name) for name, key in _HEADER.items()},
        "units": dict(rec.UNITS),
        "load_points": load_points,
        "indication": {"standard_energy_mwh": h("IND_STANDARD_MWH"), "displayed_energy_mwh": h("IND_DISPLAYED_MWH")},
        "billing": {
            "energy_mwh": h("BILLED_ENERGY_MWH"),
            "tariff_cny_per_kwh": money_from_e4(h("TARIFF")),
            "billed_cny": money_from_e4(h("BILLED_AMOUNT")),
        },
        "clock": {"pile_ms": h("PILE_CLOCK_MS"), "reference_ms": h("REFERENCE_CLOCK_MS")},
        "signature": {"alg": kind, "value": signature.hex()},
    }
    rec.validate_record(record)
    return record


def public_key_from_registers(header: list[int], signature_block: list[int]):
    """(kind, raw bytes) of the key the box reports: for enrolment, never for trusting a record."""
    kind = reg.KEY_KINDS.get(reg.get(header, reg.INPUT["KEY_KIND"], offset=reg.HEADER_SPAN[0]))
    length = reg.get(header, reg.INPUT["PUBLIC_KEY_LEN"], offset=reg.HEADER_SPAN[0])
    raw = reg.get(signature_block, reg.INPUT["PUBLIC_KEY"], offset=reg.SIGNATURE_SPAN[0])
    return kind, raw[:length]
