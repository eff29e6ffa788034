"""The signed measurement record: signature, replay rule, units, certificate, register round trip."""

import copy
from datetime import date

import pytest

from calibration.fieldbox import codec
from calibration.fieldbox import registers as reg
from calibration.fieldbox.acceptance import accept_record, measurement_date
from calibration.fieldbox.certificate import TestBoxExpired, require_testbox_usable, testbox_usable
from calibration.fieldbox.record import (
    DOMAIN, RecordFormatError, ReplayError, SignatureError, UnitError, build_record, check_sequence,
    sign_record, signing_bytes, verify_record,
)
from ledger.chain.crypto import ED25519, P256, SigningKey
from ledger.chain.encoding import canonical

# 2026-11-25 12:00:00 UTC
NOON = 1_795_608_000_000


def make_record(sequence=7, **changes):
    parts = dict(
        box_serial="TB-1", sequence=sequence, pile_code="PILE-A1", timestamp_ms=NOON,
        load_points=[
            {"current_ma": 32_000, "voltage_mv": 220_000, "duration_ms": 511_363,
             "standard_energy_mwh": 1_000_000, "indicated_energy_mwh": 1_010_000},
            {"current_ma": 3_200, "voltage_mv": 219_500, "duration_ms": 2_562_642,
             "standard_energy_mwh": 500_000, "indicated_energy_mwh": 499_000},
        ],
        indication={"standard_energy_mwh": 1_500_000, "displayed_energy_mwh": 1_509_000},
        billing={"energy_mwh": 1_509_000, "tariff_cny_per_kwh": "0.8000", "billed_cny": "1.2100"},
        clock={"pile_ms": NOON + 4_000, "reference_ms": NOON},
    )
    parts.update(changes)
    return build_record(**parts)


@pytest.fixture(scope="module", params=[ED25519, P256])
def box_key(request):
    return SigningKey.generate(request.param)


def test_a_signed_record_verifies(box_key):
    signed = sign_record(make_record(), box_key)
    assert signed["signature"]["alg"] == box_key.kind
    assert verify_record(signed, box_key.public_key) is signed


def test_signed_bytes_are_domain_tagged_canonical_json():
    record = make_record()
    assert signing_bytes(record) == DOMAIN + canonical(record)
    assert b"." not in canonical(record["load_points"])  # integers only: no float ever slips in


def test_forged_signature_from_another_key(box_key):
    forged = sign_record(make_record(), SigningKey.generate(box_key.kind))
    with pytest.raises(SignatureError, match="does not verify with the key of box TB-1"):
        verify_record(forged, box_key.public_key)


def test_signature_of_the_wrong_algorithm(box_key):
    other = P256 if box_key.kind == ED25519 else ED25519
    with pytest.raises(SignatureError, match=f"signed with {other}"):
        verify_record(sign_record(make_record(), SigningKey.generate(other)), box_key.public_key)


@pytest.mark.parametrize("tamper", [
    lambda r: r["load_points"][0].update(indicated_energy_mwh=1_000_000),
    lambda r: r["billing"].update(billed_cny="1.2000"),
    lambda r: r.update(pile_code="PILE-B1"),
    lambda r: r.update(sequence=r["sequence"] + 1),
    lambda r: r["clock"].update(pile_ms=NOON),
])
def test_any_change_breaks_the_signature(box_key, tamper):
    signed = sign_record(make_record(), box_key)
    tampered = copy.deepcopy(signed)
    tamper(tampered)
    with pytest.raises(SignatureError):
        verify_record(tampered, box_key.public_key)


def test_a_missing_or_malformed_signature():
    record = make_record()
    with pytest.raises(RecordFormatError, match="missing signature"):
        verify_record(record, SigningKey.generate().public_key)
    with pytest.raises(SignatureError, match="64 bytes"):
        verify_record({**record, "signature": {"alg": "ed25519", "value": "00"}}, SigningKey.generate().public_key)


def test_replay_rule_sequence_strictly_increases():
    check_sequence(1, None)
    check_sequence(8, 7)
    with pytest.raises(ReplayError, match="sequence 7 is not above 7"):
        check_sequence(7, 7)
    with pytest.raises(ReplayError, match="sequence 6 is not above 7"):
        check_sequence(6, 7)


# -- units and shape --------------------------------------------------------------------------------

def _with(path_value_pairs):
    record = make_record()
    for path, value in path_value_pairs:
        target = record
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return record


_DELETE = object()


@pytest.mark.parametrize("changes, error, message", [
    ([(("units", "energy"), "kWh")], UnitError, "units.energy is 'kWh': this record format carries energy in mWh"),
    ([(("load_points", 0, "standard_energy_kwh"), "1.0"), (("load_points", 0, "standard_energy_mwh"), _DELETE)],
     RecordFormatError, r"load_points\[0\]: missing standard_energy_mwh"),
    ([(("load_points", 0, "standard_energy_kwh"), "1.0")], UnitError, "unexpected field standard_energy_kwh .*integer mWh"),
    ([(("load_points", 0, "standard_energy_mwh"), -1_000_000)], UnitError, "-1000000 mWh is out of range"),
    ([(("load_points", 0, "standard_energy_mwh"), 0)], UnitError, "0 mWh is out of range"),
    ([(("load_points", 0, "standard_energy_mwh"), "1000000")], UnitError, "integer number of mWh"),
    ([(("load_points", 1, "voltage_mv"), 219.5)], UnitError, "integer number of mV"),
    ([(("load_points",), [])], RecordFormatError, "at least one load point"),
    ([(("load_points", 0, "indicated_energy_mwh"), _DELETE)], RecordFormatError, "missing indicated_energy_mwh"),
    ([(("billing", "billed_cny"), "1.21")], UnitError, "exactly 4 places"),
    ([(("billing", "billed_cny"), 1.21)], UnitError, "decimal string"),
    ([(("sequence",), 0)], UnitError, "sequence: 0"),
    ([(("format",), "other")], RecordFormatError, "format"),
])
def test_wrong_units_and_shapes_are_clear_errors(changes, error, message):
    record = _with(changes)
    with pytest.raises(error, match=message):
        sign_record(record, SigningKey.generate())


def test_build_refuses_what_it_cannot_sign():
    with pytest.raises(RecordFormatError, match="missing load_points|at least one load point"):
        make_record(load_points=[])


# -- registers --------------------------------------------------------------------------------------

def test_register_round_trip_is_exact(box_key):
    signed = sign_record(make_record(), box_key)
    image = [0] * reg.INPUT_SIZE
    reg.put(image, reg.INPUT["KEY_KIND"], {"ed25519": 1, "p256": 2}[box_key.kind])
    codec.put_record(image, signed)
    start, count = reg.HEADER_SPAN
    sig_start, sig_count = reg.SIGNATURE_SPAN
    decoded = codec.record_from_registers(image[start:start + count], image[reg.LOAD_POINT_BASE:reg.LOAD_POINT_BASE + 32],
                                          image[sig_start:sig_start + sig_count])
    assert decoded == signed
    verify_record(decoded, box_key.public_key)


def test_word_order_is_big_endian():
    assert reg.encode(reg.INPUT["SEQUENCE"], 0x0001_0002) == [0x0001, 0x0002]
    assert reg.encode(reg.INPUT["TIMESTAMP_MS"], 0x0001_0002_0003_0004) == [1, 2, 3, 4]
    assert reg.encode(reg.HOLDING["PILE_CODE"], "AB")[:2] == [0x4142, 0]
    with pytest.raises(reg.RegisterError, match="unsigned 32-bit"):
        reg.encode(reg.INPUT["SEQUENCE"], 2**32)


def test_money_in_registers():
    assert codec.money_to_e4("12.3456") == 123456
    assert codec.money_from_e4(123456) == "12.3456"
    assert codec.money_from_e4(5) == "0.0005"


def test_the_docs_hold_the_register_map():
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "docs" / "calibration-field.md").read_text()
    assert reg.markdown_table() in doc


# -- the box's own certificate ------------------------------------------------------------------------

def test_testbox_usable_through_its_expiry_date():
    assert testbox_usable(date(2026, 11, 25), date(2026, 11, 24))
    assert testbox_usable(date(2026, 11, 25), date(2026, 11, 25))
    assert not testbox_usable(date(2026, 11, 25), date(2026, 11, 26))
    with pytest.raises(TestBoxExpired, match="TB-1: its certificate expired on 2026-11-25"):
        require_testbox_usable("TB-1", date(2026, 11, 25), date(2026, 11, 26))


def test_acceptance_checks_signature_serial_sequence_and_certificate(box_key):
    signed = sign_record(make_record(sequence=8), box_key)
    kwargs = dict(box_serial="TB-1", public_key=box_key.public_key, certificate_expires=date(2026, 11, 25))
    assert measurement_date(signed) == date(2026, 11, 25)  # 20:00 in UTC+8
    assert accept_record(signed, last_sequence=7, **kwargs) is signed
    with pytest.raises(ReplayError):
        accept_record(signed, last_sequence=8, **kwargs)
    with pytest.raises(TestBoxExpired):
        accept_record(signed, last_sequence=7, **{**kwargs, "certificate_expires": date(2026, 11, 24)})
    with pytest.raises(RecordFormatError, match="names box TB-1"):
        accept_record(signed, last_sequence=7, **{**kwargs, "box_serial": "TB-2"})
    late = sign_record(make_record(sequence=9, timestamp_ms=NOON + 4 * 3_600_000), box_key)  # 00:00 next day in UTC+8
    with pytest.raises(TestBoxExpired, match="may not be used on 2026-11-26"):
        accept_record(late, last_sequence=8, **kwargs)
