"""OCMF records as a pile's meter signs them (ECDSA P-256 over the payload, DER signature in hex): a
session's record with its begin and end readings, and a clock-aligned register reading."""

from __future__ import annotations

import datetime as dt
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def _tm(when: dt.datetime) -> str:
    when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S,") + f"{when.microsecond // 1000:03d}+0000 S"


def signed_session_record(private_key: ec.EllipticCurvePrivateKey, *, meter_serial: str, pagination: int, id_tag: str,
                          begin: tuple[dt.datetime, int], end: tuple[dt.datetime, int]) -> str:
    """begin/end: (time, register in Wh)."""
    readings = [
        {"TM": _tm(when), "TX": tx, "RV": wh, "RI": "1-b:1.8.0", "RU": "Wh", "EF": "", "ST": "G"}
        for tx, (when, wh) in (("B", begin), ("E", end))
    ]
    payload = {
        "FV": "1.0", "GI": "pilechain-simulator", "GS": meter_serial, "PG": f"T{pagination}", "MS": meter_serial,
        "IS": bool(id_tag), "IT": "ISO14443" if id_tag else "NONE", "ID": id_tag, "RD": readings,
    }
    body = json.dumps(payload, separators=(",", ":"))
    signature = private_key.sign(body.encode(), ec.ECDSA(hashes.SHA256()))
    return f'OCMF|{body}|{json.dumps({"SA": "ECDSA-secp256r1-SHA256", "SD": signature.hex().upper()}, separators=(",", ":"))}'


def signed_register_record(private_key: ec.EllipticCurvePrivateKey, *, meter_serial: str, pagination: int,
                           at: dt.datetime, wh: int) -> str:
    """One clock-aligned register reading outside any transaction (what OCPP 2.0.1's signed aligned
    data carries): the energy register in Wh at `at`."""
    payload = {
        "FV": "1.0", "GI": "pilechain-simulator", "GS": meter_serial, "PG": f"F{pagination}", "MS": meter_serial,
        "IS": False, "IT": "NONE", "ID": "",
        "RD": [{"TM": _tm(at), "RV": wh, "RI": "1-b:1.8.0", "RU": "Wh", "EF": "", "ST": "G"}],
    }
    body = json.dumps(payload, separators=(",", ":"))
    signature = private_key.sign(body.encode(), ec.ECDSA(hashes.SHA256()))
    return f'OCMF|{body}|{json.dumps({"SA": "ECDSA-secp256r1-SHA256", "SD": signature.hex().upper()}, separators=(",", ":"))}'
