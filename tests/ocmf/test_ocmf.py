"""OCMF signed meter values: real third-party records, tampering, malformed input, exact units,
session checks, and property tests on records signed here with freshly generated keys.

The real records and keys are in samples.py, each with the repository, path and commit it
was taken from. No database is used.
"""

import base64
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ocmf
from ocmf import (
    ALGORITHMS,
    BadJson,
    BadSignature,
    InexactValue,
    InvalidPublicKey,
    KeyMismatch,
    MalformedRecord,
    MalformedSignature,
    MeterStatus,
    NotSettleable,
    Reason,
    TimeSync,
    TransactionCode,
    UnsupportedAlgorithm,
    check_session,
    check_signature,
    parse,
    to_mwh,
    to_wh,
    verify,
)
from tests.ocmf import samples as s
from tests.utils.stack import at_stack_depth

FAST = settings(max_examples=60, deadline=None, database=None)
NANO_KEY = base64.b64decode(s.NANO_KEY_BASE64)
P256 = "ECDSA-secp256r1-SHA256"
METER_KEY = ec.generate_private_key(ec.SECP256R1())  # fresh on every run; never stored
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


# --- helpers: records signed here ---------------------------------------------------------------


def spki_hex(private_key) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der.hex()


def reading(rv="1.000", tx="B", minute=0, unit="kWh", obis="1-b:1.8.0", ef="", st_="G") -> str:
    """One RD element as JSON text; RV is written as given, the way a meter writes it."""
    tm = f"2026-11-25T10:{minute:02d}:00,000+0800 S"
    fields = {"TM": tm, "TX": tx, "RI": obis, "RU": unit, "EF": ef, "ST": st_}
    body = json.dumps(fields, separators=(",", ":"))[:-1]
    return body + f',"RV":{rv}}}'


def payload(*readings, pg="T1", serial="PILE-A1-M1") -> str:
    return (
        f'{{"FV":"1.0","GI":"pilechain-sim","GS":"{serial}","PG":"{pg}","MS":"{serial}",'
        f'"IS":true,"IT":"ISO14443","ID":"04A1B2C3","RD":[{",".join(readings)}]}}'
    )


def sign(body: str, key=METER_KEY, algorithm=P256, encoding="hex") -> str:
    der = key.sign(body.encode(), ec.ECDSA(hashes.SHA256()))
    sd = der.hex().upper() if encoding == "hex" else base64.b64encode(der).decode()
    return f'OCMF|{body}|{{"SA":"{algorithm}","SE":"{encoding}","SD":"{sd}"}}'


def replace_signature_section(record: str, section: str) -> str:
    head, body, _ = record.split("|")
    return f"{head}|{body}|{section}"


def keba_signature_with(**fields) -> str:
    section = json.loads(s.KEBA.split("|")[2]) | fields
    return replace_signature_section(s.KEBA, json.dumps(section))


# --- the real records ---------------------------------------------------------------------------

REAL = [
    ("keba-kcp30", s.KEBA, s.KEBA_KEY),
    ("keba-16913115", s.KEBA_16913115, s.KEBA_16913115_KEY),
    ("keba-tariff", s.KEBA_TARIFF, s.KEBA_TARIFF_KEY),
    ("nzr-brainpool-begin", s.NZR_BRAINPOOL_BEGIN, s.NZR_BRAINPOOL_KEY),
    ("nzr-brainpool-end", s.NZR_BRAINPOOL_END, s.NZR_BRAINPOOL_KEY),
    ("nzr-p384-begin", s.NZR_P384_BEGIN, s.NZR_P384_KEY),
    ("nzr-p384-end", s.NZR_P384_END, s.NZR_P384_KEY),
    ("ebee-begin", s.EBEE_BEGIN, s.EBEE_KEY),
    ("ebee-end", s.EBEE_END, s.EBEE_KEY),
    ("nano-secp256k1-begin", s.NANO_BEGIN, NANO_KEY),
    ("nano-secp256k1-end", s.NANO_END, NANO_KEY),
    ("twincharger-base64", s.TWINCHARGER, s.TWINCHARGER_KEY),
]


@pytest.mark.parametrize("record,key", [r[1:] for r in REAL], ids=[r[0] for r in REAL])
def test_real_records_verify_with_their_published_key(record, key):
    assert verify(record, key) == ocmf.VerifyResult(True, Reason.OK)
    assert verify(parse(record), key).ok
    assert verify(record.encode(), key).ok


def test_keba_record_fields():
    record = parse(s.KEBA)
    p = record.payload
    assert (p.gateway_id, p.gateway_serial, p.gateway_version) == ("KEBA_KCP30", "17619300", "2.8.5")
    assert p.pagination == ocmf.Pagination("T", 32)
    assert p.identification_status is False and p.identification_type == "NONE"
    assert p.identification_flags == ("RFID_NONE", "OCPP_NONE", "ISO15118_NONE", "PLMN_NONE")
    assert p.meter_serial is None
    begin, end = p.readings
    assert begin.value == Decimal("0.2596") and begin.unit == "kWh" and begin.mwh == 259_600
    assert end.value == Decimal("0.2597") and end.mwh == 259_700
    assert begin.transaction is TransactionCode.BEGIN and end.transaction is TransactionCode.END
    assert begin.time.at == datetime(2019, 8, 13, 10, 3, 15, tzinfo=timezone.utc)
    assert (begin.time.sync, end.time.sync) == (TimeSync.INFORMATIVE, TimeSync.RELATIVE)
    assert begin.status is MeterStatus.GOOD and begin.error_flags == "" and begin.obis == "1-b:1.8.0"
    sig = record.signature
    assert (sig.algorithm, sig.encoding, sig.mime_type) == (P256, "hex", "application/x-der")
    assert record.signed_bytes == s.KEBA.split("|")[1].encode()
    assert record.deviations == ()


def test_keba_session_is_a_tenth_of_a_watt_hour():
    check = check_session([s.KEBA], s.KEBA_KEY)
    assert check.ok and check.problems == ()
    assert check.energy_mwh == 100
    with pytest.raises(InexactValue):
        check.energy_wh()  # 0.1 Wh is not a whole Wh: the caller must choose a rounding
    assert check.energy_wh("floor") == 0
    assert check.energy_wh("half_even") == 0


def test_genuine_tampered_keba_record_fails():
    # The SAFE corpus's own negative sample: begin date moved by one day, signature kept.
    assert verify(s.KEBA_TAMPERED, s.KEBA_KEY).reason is Reason.BAD_SIGNATURE


def test_omitted_reading_fields_are_inherited():
    readings = parse(s.KEBA_16913115).payload.readings
    third = readings[2]
    assert third.obis == "1-b:1.9.0" and third.value == Decimal("0.00") and third.mwh == 0
    assert third.transaction is TransactionCode.END and third.status is MeterStatus.GOOD
    assert third.time == readings[1].time
    # The session register is another quantity: the energy comes from 1-b:1.8.0 only.
    check = check_session([s.KEBA_16913115], s.KEBA_16913115_KEY)
    assert check.ok and check.end == readings[1] and check.energy_mwh == 0


def test_tariff_text_and_format_1_1():
    p = parse(s.KEBA_TARIFF).payload
    assert p.format_version == "1.1" and p.tariff_text == "Test"
    assert p.readings[0].mwh == 62_500_203_100
    assert p.readings[0].time.at.utcoffset() == timedelta(hours=1)


def test_twincharger_off_spec_record_is_accepted_and_noted():
    record = parse(s.TWINCHARGER)
    p = record.payload
    assert p.format_version == "1.0" and p.charge_point_id_type == "0"
    assert dict(p.extra) == {"UCPN": "101"}
    assert [r.mwh for r in p.readings] == [0, 1_304_000]
    assert record.signature.encoding == "base64"
    assert "FV is a number, not a string" in record.deviations
    assert "RD[1].RV is a string, not a number" in record.deviations
    check = check_session([s.TWINCHARGER], s.TWINCHARGER_KEY)
    assert check.ok and check.energy_wh() == 1304


def test_nano_padded_string_values_and_non_energy_unit():
    begin, end = parse(s.NANO_BEGIN), parse(s.NANO_END)
    assert begin.payload.readings[0].value == Decimal("9.038")
    seconds = end.payload.readings[1]
    assert seconds.unit == "sec" and seconds.value == Decimal("30") and seconds.mwh is None


@pytest.mark.parametrize(
    "records,key",
    [
        ([s.NZR_BRAINPOOL_BEGIN, s.NZR_BRAINPOOL_END], s.NZR_BRAINPOOL_KEY),
        ([s.NZR_P384_BEGIN, s.NZR_P384_END], s.NZR_P384_KEY),
        ([s.EBEE_BEGIN, s.EBEE_END], s.EBEE_KEY),
        ([s.NANO_BEGIN, s.NANO_END], NANO_KEY),
    ],
    ids=["brainpool", "p384", "ebee", "nano"],
)
def test_real_two_record_sessions(records, key):
    check = check_session(records, key)
    assert check.ok, check.problems
    assert check.begin.transaction is TransactionCode.BEGIN and check.end.transaction is TransactionCode.END
    assert check.energy_mwh == check.end.mwh - check.begin.mwh == 0


def test_real_records_in_the_wrong_order_are_not_settleable():
    check = check_session([s.NANO_END, s.NANO_BEGIN], NANO_KEY)
    codes = {p.code for p in check.problems}
    assert {"pagination_gap", "time_not_monotonic", "no_end"} <= codes
    assert not check.ok
    with pytest.raises(NotSettleable):
        check.energy_mwh


def test_begin_and_end_from_different_meters_are_not_settleable():
    check = check_session([s.EBEE_BEGIN, s.NZR_BRAINPOOL_END], s.EBEE_KEY)
    codes = {p.code for p in check.problems}
    assert {"signature", "source_mismatch", "pagination_gap"} <= codes


def test_secp192k1_record_is_refused_clearly():
    result = verify(s.HTB_SECP192K1, s.HTB_SECP192K1_KEY)
    assert result.reason is Reason.UNSUPPORTED_ALGORITHM and "secp192k1" in result.detail
    with pytest.raises(UnsupportedAlgorithm):
        check_signature(s.HTB_SECP192K1, s.HTB_SECP192K1_KEY)


# --- tampering and wrong inputs, on the KEBA record ----------------------------------------------


@pytest.mark.parametrize(
    "old,new",
    [("0.2597", "0.2598"), ("KEBA_KCP30", "KEBA_KCP31"), ('"T32"', '"T33"'), ('"IS":false', '"IS":true ')],
)
def test_one_changed_character_in_the_payload_fails(old, new):
    tampered = s.KEBA.replace(old, new, 1)
    assert tampered != s.KEBA
    assert verify(tampered, s.KEBA_KEY).reason is Reason.BAD_SIGNATURE
    with pytest.raises(BadSignature):
        check_signature(tampered, s.KEBA_KEY)


def test_a_failed_signature_marks_the_session():
    tampered = s.KEBA.replace("0.2597", "9.2597")
    check = check_session([tampered], s.KEBA_KEY)
    assert not check.ok
    assert [p.code for p in check.problems] == ["signature"]
    assert "bad_signature" in check.problems[0].detail
    assert check.claimed_energy_mwh == 9_000_100  # shown to operators, never settled
    with pytest.raises(NotSettleable, match="bad_signature"):
        check.energy_wh("floor")


# ids: pytest-xdist needs the same test ids in every worker, and OTHER_KEY is random.
@pytest.mark.parametrize(
    "key", [spki_hex(OTHER_KEY), s.KEBA_16913115_KEY, s.TWINCHARGER_KEY], ids=["fresh", "keba2", "twin"]
)
def test_another_key_fails(key):
    assert verify(s.KEBA, key).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("cut", [1, 2, 10, 140])
def test_truncated_signature_fails(cut):
    sd = json.loads(s.KEBA.split("|")[2])["SD"]
    result = verify(keba_signature_with(SD=sd[:-cut]), s.KEBA_KEY)
    assert result.reason is Reason.MALFORMED_SIGNATURE
    with pytest.raises(MalformedSignature):
        check_signature(keba_signature_with(SD=sd[:-cut]), s.KEBA_KEY)


def test_raw_r_s_signature_is_not_der():
    sd = json.loads(s.KEBA.split("|")[2])["SD"]
    r, s_ = decode_dss_signature(bytes.fromhex(sd))
    raw = (r.to_bytes(32, "big") + s_.to_bytes(32, "big")).hex()
    assert verify(keba_signature_with(SD=raw), s.KEBA_KEY).reason is Reason.MALFORMED_SIGNATURE


def test_other_valid_signature_fails():
    sd = json.loads(s.KEBA_16913115.split("|")[2])["SD"]
    assert verify(keba_signature_with(SD=sd), s.KEBA_KEY).reason is Reason.BAD_SIGNATURE


@pytest.mark.parametrize(
    "fields,reason",
    [
        ({"SA": "ECDSA-secp256r1-SHA512"}, Reason.UNSUPPORTED_ALGORITHM),
        ({"SA": "RSA-SHA256"}, Reason.UNSUPPORTED_ALGORITHM),
        ({"SA": "ecdsa-secp256r1-sha256"}, Reason.UNSUPPORTED_ALGORITHM),
        ({"SA": "ECDSA-secp384r1-SHA256"}, Reason.KEY_MISMATCH),
        ({"SA": "ECDSA-brainpoolP256r1-SHA256"}, Reason.KEY_MISMATCH),
        ({"SE": "base32"}, Reason.UNSUPPORTED_ALGORITHM),
        ({"SM": "application/json"}, Reason.UNSUPPORTED_ALGORITHM),
        ({"SE": "base64"}, Reason.MALFORMED_SIGNATURE),  # the hex SD read as base64 is no DER
        ({"SD": "30450220zz"}, Reason.MALFORMED_SIGNATURE),
        ({"SD": ""}, Reason.MALFORMED_SIGNATURE),
        ({"SA": P256, "SM": "application/x-der", "SE": "hex"}, Reason.OK),  # explicit defaults
    ],
)
def test_signature_section_variants(fields, reason):
    assert verify(keba_signature_with(**fields), s.KEBA_KEY).reason is reason


def test_exception_types_for_algorithm_and_key():
    with pytest.raises(UnsupportedAlgorithm):
        check_signature(keba_signature_with(SA="ECDSA-secp521r1-SHA512"), s.KEBA_KEY)
    with pytest.raises(KeyMismatch):
        check_signature(keba_signature_with(SA="ECDSA-secp384r1-SHA256"), s.KEBA_KEY)
    with pytest.raises(InvalidPublicKey):
        check_signature(s.KEBA, "not a key")


def test_key_forms():
    key = ocmf.load_public_key(s.KEBA_KEY)
    point = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    packed = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    for form in (key, point, point.hex(), packed, packed.hex().upper(), bytes.fromhex(s.KEBA_KEY)):
        assert verify(s.KEBA, form).ok, form
    assert verify(s.KEBA, ":".join(s.KEBA_KEY[i : i + 2] for i in range(0, len(s.KEBA_KEY), 2))).ok


def test_a_point_is_read_on_the_records_curve():
    # A raw point has no curve of its own: a P-384 point for a P-256 record cannot be read.
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    point = p384.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert verify(s.KEBA, point).reason is Reason.INVALID_KEY
    assert verify(s.KEBA, spki_hex(ec.generate_private_key(ec.SECP384R1()))).reason is Reason.KEY_MISMATCH


@pytest.mark.parametrize(
    "key",
    [
        "",
        "zz",
        "3059",
        "04" + "00" * 64,  # not on the curve
        "3059301306072A8648CE3D020106082A8648CE3D03010703420004" + "00" * 64,
        rsa.generate_private_key(65537, 1024)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        None,
        42,
    ],
    ids=["empty", "not-hex", "short-der", "off-curve", "off-curve-der", "rsa", "ed25519", "none", "int"],
)
def test_unusable_keys(key):
    assert verify(s.KEBA, key).reason is Reason.INVALID_KEY


def test_whitespace_around_the_record_is_transport_noise_but_inside_it_is_tampering():
    assert verify("\n        " + s.KEBA + "\n    ", s.KEBA_KEY).ok
    head, body, sig = s.KEBA.split("|")
    assert verify(f"{head}| {body}|{sig}", s.KEBA_KEY).reason is Reason.BAD_SIGNATURE
    assert verify(f"{head}|{body}| {sig} ", s.KEBA_KEY).ok  # the signature section is not signed


# --- malformed strings --------------------------------------------------------------------------

GOOD_READING = reading("1.5")


@pytest.mark.parametrize(
    "text,error",
    [
        ("", MalformedRecord),
        ("OCMF", MalformedRecord),
        ("OCMF|{}", MalformedRecord),
        ('ocmf|{"PG":"T1"}|{"SD":""}', MalformedRecord),
        ("XOCMF|{}|{}", MalformedRecord),
        (s.KEBA + "|3059", MalformedRecord),  # a fourth section (some QR codes append the key)
        ('OCMF|{"PG":"T1"|{"SD":"00"}', BadJson),
        ('OCMF|[]|{"SD":"00"}', BadJson),
        (f'OCMF|{payload(GOOD_READING)}|"sig"', BadJson),
        (f'OCMF|{payload(GOOD_READING)[:-1]},"PG":"T2"}}|{{"SD":"00"}}', BadJson),  # duplicate key
        (f'OCMF|{payload(reading("NaN"))}|{{"SD":"00"}}', BadJson),
        (f'OCMF|{payload(reading("Infinity"))}|{{"SD":"00"}}', BadJson),
        (f'OCMF|{payload(GOOD_READING)}|{{"SA":"{P256}"}}', MalformedRecord),  # no SD
        (f'OCMF|{payload(GOOD_READING)}|{{"SD":42}}', MalformedRecord),
        (f'OCMF|{payload(GOOD_READING, pg="X1")}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(GOOD_READING, pg="T")}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(GOOD_READING, serial="")}|{{"SD":"00"}}', MalformedRecord),
        ('OCMF|{"GS":"1","PG":"T1"}|{"SD":"00"}', MalformedRecord),  # no RD
        ('OCMF|{"GS":"1","PG":"T1","RD":[]}|{"SD":"00"}', MalformedRecord),
        ('OCMF|{"GS":"1","PG":"T1","RD":[1]}|{"SD":"00"}', MalformedRecord),
        ('OCMF|{"GS":"1","PG":"T1","RD":[{"RV":1,"RU":"Wh","ST":"G"}]}|{"SD":"00"}', MalformedRecord),
        ('OCMF|{"GS":true,"PG":"T1","RD":[]}|{"SD":"00"}', MalformedRecord),
        ('OCMF|{"GS":"1","PG":"T1","IS":"yes","RD":[]}|{"SD":"00"}', MalformedRecord),
        ('OCMF|{"GS":"1","PG":"T1","IF":"RFID_NONE","RD":[]}|{"SD":"00"}', MalformedRecord),
        (f'OCMF|{payload(reading(tx="Q"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading(st_="Z"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading(ef="Ex"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading(rv="true"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading(rv=chr(34) + "1,5" + chr(34)))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading(rv=chr(34) + "1e3" + chr(34)))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading(rv="0.0000001"))}|{{"SD":"00"}}', InexactValue),
        (f'OCMF|{payload(reading(unit=""))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading().replace("-11-25T", "-13-25T"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading().replace(",000+0800 S", "+0800 S"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading().replace("+0800 S", "+0800 Q"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading().replace("+0800 S", "+0800"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading().replace("+0800", "+2500"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(reading().replace("2026", "２０２６"))}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(GOOD_READING, pg="T" + "9" * 30)}|{{"SD":"00"}}', MalformedRecord),
        (f'OCMF|{payload(GOOD_READING)[:-1]},"LC":{{"LN":"x"}}}}|{{"SD":"00"}}', MalformedRecord),
        ("OCMF|" + "[" * 100_000 + "|{}", BadJson),
        ("OCMF|" + " " * ocmf.MAX_RECORD_LENGTH + "{}|{}", MalformedRecord),
        (b"OCMF|\xff|{}", MalformedRecord),
    ],
)
def test_malformed_records_raise_clear_errors(text, error):
    with pytest.raises(error) as caught:
        parse(text)
    assert type(caught.value) is error
    result = verify(text, s.KEBA_KEY)
    assert not result.ok and result.detail


def _outcome(record: str) -> str:
    try:
        parse(record)
    except ocmf.OcmfError as exc:
        return f"{exc.reason}: {exc}"
    return "parsed"


def test_nesting_limit_does_not_depend_on_the_callers_stack():
    """A vendor field nested 300 deep parses in a fresh process and fails a few hundred frames
    down (json's parser recurses): every node must give the same verdict, so the depth is capped."""
    def nested(levels: int) -> str:
        body = payload(GOOD_READING)[:-1] + ',"XV":' + "[" * levels + "]" * levels + "}"
        return sign(body)

    deep, shallow = nested(300), nested(60)
    assert _outcome(shallow) == "parsed"
    assert _outcome(deep) == f"bad_json: payload section is nested deeper than {ocmf.parser.MAX_DEPTH} levels"
    for record in (deep, shallow):
        assert at_stack_depth(200, lambda: _outcome(record)) == _outcome(record)
    assert verify(deep, spki_hex(METER_KEY)).reason is Reason.BAD_JSON
    assert verify(shallow, spki_hex(METER_KEY)).ok


def test_malformed_and_bad_json_reasons():
    assert verify("OCMF|{}", s.KEBA_KEY).reason is Reason.MALFORMED
    assert verify('OCMF|{"a":|{"SD":"00"}', s.KEBA_KEY).reason is Reason.BAD_JSON
    assert verify(None, s.KEBA_KEY).reason is Reason.MALFORMED


def test_lenient_time_spellings_are_noted():
    body = payload(reading().replace(",000+0800", ".000+08:00"))
    record = parse(sign(body))
    assert record.payload.readings[0].time.at.utcoffset() == timedelta(hours=8)
    assert record.deviations == ("RD[0].TM is not in the exact OCMF time format",)


def test_loss_compensation_and_cumulated_loss():
    with_loss = reading("2935.6")[:-1] + ',"CL":0.5}'
    body = payload(with_loss)[:-1] + ',"LC":{"LN":"cable","LI":1,"LR":2,"LU":"mOhm"}}'
    p = parse(sign(body)).payload
    assert p.loss_compensation == ocmf.LossCompensation("cable", Decimal(1), Decimal(2), "mOhm")
    assert p.readings[0].cumulated_loss == Decimal("0.5")


# --- units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,unit,mwh",
    [
        ("0.2596", "kWh", 259_600),
        ("1234.56", "kWh", 1_234_560_000),
        ("62500.2031", "kWh", 62_500_203_100),
        ("0.000001", "kWh", 1),
        ("1833", "Wh", 1_833_000),
        ("1.5", "Wh", 1_500),
        ("0.001", "Wh", 1),
        ("0", "Wh", 0),
        ("0.00", "kWh", 0),
        ("1E+3", "Wh", 1_000_000),
        ("2.5E-3", "kWh", 2_500),
        ("-1.5", "kWh", -1_500_000),
        ("1.000000000000000000000000000000", "kWh", 1_000_000),
        ("0E-999999", "kWh", 0),
        ("30", "sec", None),
        ("2", "mOhm", None),
    ],
)
def test_exact_unit_conversion(value, unit, mwh):
    assert to_mwh(Decimal(value), unit) == mwh


@pytest.mark.parametrize(
    "value,unit,error",
    [
        ("0.0000001", "kWh", InexactValue),
        ("1.0001", "Wh", InexactValue),
        ("1e999999", "Wh", MalformedRecord),
        ("1e-999999", "Wh", InexactValue),
        ("1" * 40, "Wh", MalformedRecord),
        ("NaN", "kWh", MalformedRecord),
        ("Infinity", "Wh", MalformedRecord),
    ],
)
def test_values_finer_than_a_milliwatt_hour_are_refused(value, unit, error):
    with pytest.raises(error):
        to_mwh(Decimal(value), unit)


@pytest.mark.parametrize(
    "mwh,rounding,wh",
    [
        (1_304_000, "exact", 1304),
        (100, "floor", 0),
        (1_999, "floor", 1),
        (1_500, "half_even", 2),
        (2_500, "half_even", 2),
        (2_501, "half_even", 3),
        (2_499, "half_even", 2),
    ],
)
def test_to_wh(mwh, rounding, wh):
    assert to_wh(mwh, rounding) == wh


def test_to_wh_refuses_inexact_and_unknown_rounding():
    with pytest.raises(InexactValue):
        to_wh(1_001)
    with pytest.raises(ValueError):
        to_wh(1_000, "ceil")


@FAST
@given(value=st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_to_mwh_matches_exact_rational_arithmetic(value):
    assume(len(value.as_tuple().digits) <= 40)
    for unit, factor in (("kWh", 10**6), ("Wh", 10**3)):
        exact = Fraction(value) * factor
        if exact.denominator == 1:
            assert to_mwh(value, unit) == exact.numerator
        else:
            with pytest.raises(InexactValue):
                to_mwh(value, unit)


# --- every algorithm we accept, on records signed here -------------------------------------------


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_self_signed_records_on_every_supported_curve(algorithm, encoding):
    key = ec.generate_private_key(ALGORITHMS[algorithm]())
    record = sign(payload(reading("1.5", "B"), reading("2.75", "E", 30)), key, algorithm, encoding)
    assert verify(record, spki_hex(key)).ok
    assert verify(record, spki_hex(OTHER_KEY)).reason in (Reason.BAD_SIGNATURE, Reason.KEY_MISMATCH)
    check = check_session([record], spki_hex(key))
    assert check.ok and check.energy_wh() == 1250


def test_default_algorithm_when_sa_is_absent():
    body = payload(reading("1"))
    der = METER_KEY.sign(body.encode(), ec.ECDSA(hashes.SHA256()))
    record = f'OCMF|{body}|{{"SD":"{der.hex()}"}}'
    assert parse(record).signature.algorithm == P256
    assert verify(record, spki_hex(METER_KEY)).ok


# --- session rules, on records signed here ------------------------------------------------------

KEY_HEX = spki_hex(METER_KEY)


def session(*records: list[str], first_pg=1, **kw) -> ocmf.SessionCheck:
    texts = [sign(payload(*rd, pg=f"T{first_pg + i}", **kw)) for i, rd in enumerate(records)]
    return check_session(texts, KEY_HEX)


def codes(check) -> set[str]:
    return {p.code for p in check.problems}


def test_session_with_intermediate_records():
    middle = [reading("12.5", "C", 10), reading("13", "T", 15)]
    check = session([reading("10", "B")], middle, [reading("20", "E", 30)])
    assert check.ok and check.energy_wh() == 10_000


@pytest.mark.parametrize("end_code", ["E", "L", "R", "A", "P"])
def test_every_end_code_ends_a_session(end_code):
    check = session([reading("10", "B")], [reading("11", end_code, 5)])
    assert check.ok and check.end.transaction.value == end_code


@pytest.mark.parametrize(
    "records,expected",
    [
        ([[reading("10", "B")]], {"no_end"}),
        ([[reading("10", "C")], [reading("11", "E", 5)]], {"no_begin"}),
        ([[reading("10", "B"), reading("10", "B", 1)], [reading("11", "E", 5)]], {"multiple_begin"}),
        ([[reading("10", "B")], [reading("9.999", "E", 5)]], {"not_monotonic"}),
        ([[reading("10", "B", 5)], [reading("11", "E", 1)]], {"time_not_monotonic"}),
        ([[reading("10", "B")], [reading("11", "E", 5, ef="E")]], {"error_flag"}),
        ([[reading("10", "B", ef="t")], [reading("11", "E", 5)]], {"error_flag"}),
        ([[reading("10", "B")], [reading("11", "E", 5, st_="M")]], {"meter_status"}),
        ([[reading("10", "B")], [reading("10.5", "X", 3)], [reading("11", "E", 5)]], {"exception"}),
        ([[reading("10", "C"), reading("10", "B", 1)], [reading("11", "E", 5)]], {"begin_not_first"}),
        ([[reading("10", "B", unit="mOhm")], [reading("11", "E", 5)]], {"begin_not_energy"}),
    ],
    ids=[
        "only-begin", "no-begin", "two-begins", "backwards", "time-backwards", "energy-flag", "time-flag",
        "manipulated", "exception", "begin-not-first", "begin-not-energy",
    ],
)  # fmt: skip
def test_session_rules(records, expected):
    check = session(*records)
    assert codes(check) == expected
    assert not check.ok
    with pytest.raises(NotSettleable):
        check.energy_mwh


def test_pagination_must_be_unbroken_and_transactional():
    begin = sign(payload(reading("10", "B"), pg="T7"))
    def end(pg):
        return sign(payload(reading("11", "E", 5), pg=pg))

    assert codes(check_session([begin, end("T9")], KEY_HEX)) == {"pagination_gap"}
    assert codes(check_session([begin, end("F8")], KEY_HEX)) == {"pagination_context"}
    assert check_session([begin, end("T8")], KEY_HEX).ok


def test_records_must_share_source_and_user():
    begin = sign(payload(reading("10", "B"), pg="T1"))
    end = sign(payload(reading("11", "E", 5), pg="T2", serial="OTHER-METER"))
    assert codes(check_session([begin, end], KEY_HEX)) == {"source_mismatch"}
    end = sign(payload(reading("11", "E", 5), pg="T2").replace("04A1B2C3", "04FFFFFF"))
    assert codes(check_session([begin, end], KEY_HEX)) == {"identification_mismatch"}


def test_fiscal_reading_without_transaction_reference():
    body = payload(reading("10", "B")).replace('"TX":"B",', "")
    assert codes(check_session([sign(body)], KEY_HEX)) == {"no_transaction", "no_begin"}


def test_empty_and_unparseable_sessions():
    assert codes(check_session([], KEY_HEX)) == {"no_records", "no_begin"}
    check = check_session(["OCMF|{}|{}", sign(payload(reading("10", "B")))], KEY_HEX)
    assert {"signature", "malformed", "no_end"} <= codes(check)
    assert check.records[0] is None


# --- properties ---------------------------------------------------------------------------------

kwh_values = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)


@FAST
@given(
    values=st.lists(kwh_values, min_size=2, max_size=6).map(sorted),
    pg=st.integers(min_value=0, max_value=10**9),
    serial=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=20),
    encoding=st.sampled_from(["hex", "base64"]),
)
def test_self_signed_records_round_trip(values, pg, serial, encoding):
    codes_ = ["B"] + ["C"] * (len(values) - 2) + ["E"]
    rd = [reading(format(v, "f"), tx, minute=i) for i, (v, tx) in enumerate(zip(values, codes_))]
    text = sign(payload(*rd, pg=f"T{pg}", serial=serial), encoding=encoding)
    assert verify(text, KEY_HEX).ok
    record = parse(text)
    assert record.payload.pagination.counter == pg and record.payload.meter_serial == serial
    assert [r.value for r in record.payload.readings] == values
    assert [r.mwh for r in record.payload.readings] == [int(v * 10**6) for v in values]
    check = check_session([text], KEY_HEX)
    assert check.ok and check.energy_mwh == int((values[-1] - values[0]) * 10**6)


SIGNED = sign(payload(reading("10.0001", "B"), reading("12.5", "E", 30)))
BODY_START = len("OCMF|")
BODY_END = SIGNED.rindex("|")


@FAST
@given(data=st.data())
def test_any_change_to_the_payload_fails_verification(data):
    position = data.draw(st.integers(min_value=BODY_START, max_value=BODY_END - 1))
    original = SIGNED[position]
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != original))
    mutated = SIGNED[:position] + replacement + SIGNED[position + 1 :]
    result = verify(mutated, KEY_HEX)
    assert not result.ok
    assert result.reason in (Reason.BAD_SIGNATURE, Reason.MALFORMED, Reason.BAD_JSON)
    assert not check_session([mutated], KEY_HEX).ok


@FAST
@given(data=st.data())
def test_insertions_and_deletions_in_the_payload_fail(data):
    position = data.draw(st.integers(min_value=BODY_START, max_value=BODY_END - 1))
    if data.draw(st.booleans()):
        mutated = SIGNED[:position] + SIGNED[position + 1 :]
    else:
        mutated = SIGNED[:position] + data.draw(st.text(min_size=1, max_size=3)) + SIGNED[position:]
    assert not verify(mutated, KEY_HEX).ok


@FAST
@given(
    text=st.text(max_size=200)
    | st.builds(lambda a, b: f"OCMF|{a}|{b}", st.text(max_size=80), st.text(max_size=80)),
    key=st.text(max_size=140) | st.binary(max_size=100) | st.just(KEY_HEX),
)
def test_verify_never_raises(text, key):
    result = verify(text, key)
    assert isinstance(result.reason, Reason) and result.ok is False
