"""Payload text and numbers are refused alike by every contract, before anything is written, with a
coded reason that does not depend on the database (PostgreSQL and SQLite alike).

Text: U+0000 cannot even be encoded (tests/ledger/test_chain_encoding.py); every other control
character is refused by the contracts that store text (`ledger.contracts.plain_text`), multi-line
fields keeping tabs and line breaks. Numbers: `ledger.contracts.decimal_value`, checked on the text,
so that NaN or an infinity never reaches a comparison (which raises) and a value SQLite would round is
refused everywhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.contracts import MAX_DECIMAL_DIGITS, InvalidInput, decimal_value, plain_text, register
from ledger.models import CommittedTx
from ledger.services import node_submit
from tests.calibration.helpers import ALL_OK, box_record
from tests.utils.ledger import commit_pending

ISO = "2030-01-01T08:00:00+00:00"


@pytest.mark.parametrize("text, multiline, ok", [
    ("Station A, 2nd floor", False, True),
    ("中文 é", False, True),
    ("line one\nline two\r\n\ttabbed", True, True),
    ("line one\nline two", False, False),
    ("bell\x07", True, False),
    ("\x1b[2J", False, False),
    ("del\x7f", True, False),
    ("next line\x85", True, False),  # a C1 control
])
def test_plain_text(text, multiline, ok):
    if ok:
        assert plain_text(text, "note", multiline=multiline) == text
    else:
        with pytest.raises(InvalidInput) as caught:
            plain_text(text, "note", multiline=multiline)
        assert (caught.value.code, caught.value.reason) == ("control_character", "note must not contain control characters")


@pytest.mark.parametrize("value, code", [
    ("NaN", "not_a_number"), ("sNaN", "not_a_number"), ("Infinity", "not_a_number"), ("-inf", "not_a_number"),
    ("1e2", "not_a_number"), (" 12", "not_a_number"), ("1_000", "not_a_number"), ("١٢", "not_a_number"),
    ("+12", "not_a_number"), (".5", "not_a_number"), ("", "not_a_number"), (12.5, "not_a_number"),
    (True, "not_a_number"), (None, "not_a_number"), (["1"], "not_a_number"),
    ("200.01", "out_of_range"), ("-1", "out_of_range"), ("0.125", "too_many_decimals"),
    ("1" * (MAX_DECIMAL_DIGITS + 1), "too_many_digits"),
])
def test_decimal_value_refusals(value, code):
    with pytest.raises(InvalidInput) as caught:
        decimal_value(value, "percent", low=Decimal(0), high=Decimal(200), places=2)
    assert caught.value.code == code
    assert caught.value.reason.startswith("percent must ")


def test_decimal_value_accepts_plain_numbers():
    assert decimal_value("12.50", "x", places=1) == Decimal("12.5")
    assert decimal_value(7, "x", integers=True) == Decimal(7)
    assert decimal_value("1" * MAX_DECIMAL_DIGITS, "x") == Decimal("1" * MAX_DECIMAL_DIGITS)
    # A negative zero is a value of its own to Decimal ("-0.00" in a state entry); no database keeps one.
    zero = decimal_value("-0.00", "x")
    assert zero == 0 and not zero.is_signed()
    with pytest.raises(InvalidInput):
        decimal_value(7, "x")  # a JSON integer only where the contract says so


def _fault_report(**changes):
    return {"pile": "PILE-A1", "connector_id": 1, "kind": "status", "severity": "minor", "error_code": "E1",
            "detail": "connector stuck", "metering": False, "detected_at": ISO, "due_hours": 24, **changes}


CONTROL = "\x1b[2J"  # an escape sequence: every database stores it, a page or a terminal would act on it

TEXT_CASES = [
    ("ledger.anchor", "OP-A",
     {"kind": "telemetry", "root": "0" * 64, "count": 1, "reference": f"batch {CONTROL}"},
     "reference must not contain control characters"),
    ("monitoring.fault_report", "OP-A", _fault_report(detail=f"stuck{CONTROL}"),
     "detail must not contain control characters"),
    ("monitoring.fault_report", "OP-A", _fault_report(error_code="E\x07"),
     "error_code must not contain control characters"),
    ("monitoring.grid_outage_flag", "GRID-1",
     {"area": "AREA-1", "starts_at": ISO, "ends_at": "2030-01-01T09:00:00+00:00", "reason": "storm\x7f"},
     "reason must not contain control characters"),
    ("registry.station_update", "OP-A", {"code": "ST-A", "changes": {"name": "Station\x85A"}},
     "name: must not contain control characters"),
    ("registry.pile_retire", "OP-A", {"code": "PILE-A1", "reason": "worn out\x1f"},
     "reason: must not contain control characters"),
    ("calibration.request_open", "OP-A", {"pile": "PILE-A1", "reason": "requested", "reference": f"R-1{CONTROL}"},
     "reference must not contain control characters"),
    ("subsidy.policy_publish", "REG",
     {"version": 1, "valid_from": "2030-01", "per_kwh_cny": "0.2000", "construction_per_kw_cny": "100.00",
      "min_availability": "0.900000", "cap_per_pile_year_cny": "5000.00", "cap_per_operator_year_cny": "100000.00",
      "note": "first\x0cpolicy"},
     "note must not contain control characters"),
]


def _reason(sub) -> str:
    return CommittedTx.objects.get(tx_id=sub.tx_id).reason


@pytest.mark.django_db
def test_every_contract_that_stores_text_refuses_control_characters(world):
    subs = [node_submit(type=type_, payload=payload, institution=signer, check=False)
            for type_, signer, payload, _ in TEXT_CASES]
    filing = node_submit(type="calibration.record_file", institution="METRO", check=False, payload={
        "record": box_record(sequence=1), "kind": "first", "observations": ALL_OK, "inspector": f"Li Wei{CONTROL}"})
    commit_pending()
    assert [_reason(sub) for sub in subs] == [reason for *_, reason in TEXT_CASES]
    assert _reason(filing) == "inspector must not contain control characters"


@pytest.mark.django_db
def test_multi_line_fields_keep_their_line_breaks(world):
    # A station's notes travel sealed (registry.services.sites checks them with the ledger's text rule
    # before sealing); opened, they keep their tabs and line breaks.
    from registry import services
    from registry.models import Station
    from registry.selectors import station_private

    sub = services.station_update(actor=world.users["a_manager"], station=Station.objects.get(code="ST-A"),
                                  data={"notes": "gate code 4711\r\nask at the desk\tdaily"})
    commit_pending()
    assert _reason(sub) == ""
    assert station_private(Station.objects.get(code="ST-A"))["notes"] == "gate code 4711\r\nask at the desk\tdaily"


NUMBER_CASES = [
    # The contract that used to halt every node: Decimal("NaN") compared with a bound raises.
    ("monitoring.load_threshold_set", "GRID-1", {"area": "AREA-1", "percent": "NaN"}, "percent"),
    ("monitoring.load_threshold_set", "GRID-1", {"area": "AREA-1", "percent": "sNaN"}, "percent"),
    ("monitoring.load_threshold_set", "GRID-1", {"area": "AREA-1", "percent": "-Infinity"}, "percent"),
    ("monitoring.load_threshold_set", "GRID-1", {"area": "AREA-1", "percent": "1e2"}, "percent"),
    ("registry.pile_update", "OP-A", {"code": "PILE-A1", "changes": {"rated_power_kw": "NaN"}}, "rated_power_kw"),
    ("registry.grid_area_update", "GRID-1", {"code": "AREA-1", "changes": {"capacity_kw": "Infinity"}}, "capacity_kw"),
    ("subsidy.policy_publish", "REG",
     {"version": 1, "valid_from": "2030-01", "per_kwh_cny": "NaN", "construction_per_kw_cny": "100.00",
      "min_availability": "0.900000", "cap_per_pile_year_cny": "5000.00", "cap_per_operator_year_cny": "100000.00",
      "note": ""}, "per_kwh_cny"),
]


@pytest.mark.django_db
def test_numbers_are_refused_before_use_with_the_same_reason(world):
    from monitoring.models import AreaLoadThreshold

    subs = [node_submit(type=type_, payload=payload, institution=signer, check=False)
            for type_, signer, payload, _ in NUMBER_CASES]
    block = commit_pending()
    assert block.rejected == len(NUMBER_CASES) and block.applied == 0
    expected = 'must be a decimal number written as a string, like "12.5"'
    assert [_reason(sub) for sub in subs] == [
        f"{field}: {expected}" if type_.startswith("registry.") else f"{field} {expected}"
        for type_, _, _, field in NUMBER_CASES]
    assert not AreaLoadThreshold.objects.exists()

    ok = node_submit(type="monitoring.load_threshold_set", institution="GRID-1", check=False,
                     payload={"area": "AREA-1", "percent": "85.0"})
    commit_pending()
    assert _reason(ok) == "" and AreaLoadThreshold.objects.get().percent == Decimal("85.0")


@register("tests.ledger.policy_with_amount", roles={"regulator"})
def _policy_with_amount(ctx, tx):
    """Stands in for a contract that computes an amount: it stores what it was given, unchecked."""
    from subsidy.models import Policy

    ctx.save(Policy(version=tx.payload["version"], valid_from="2030-01", per_kwh_cny=Decimal("0.2"),
                    construction_per_kw_cny=Decimal(0), min_availability=Decimal(0), cap_per_pile_year_cny=Decimal(0),
                    cap_per_operator_year_cny=Decimal(tx.payload["cap"]), published_by=ctx.signer_id,
                    height=ctx.block_height, tx_id=tx.id))


@pytest.mark.django_db
def test_a_decimal_no_database_holds_exactly_everywhere_is_refused_before_it_is_written(world):
    """cap_per_operator_year_cny is numeric(16, 2): PostgreSQL keeps 16 digits and refuses a 17th,
    SQLite keeps any number of digits in a 64-bit float and so only 15 exactly."""
    from subsidy.models import Policy

    cases = [("1234567890123.45", ""),  # 15 digits: every node holds them
             ("12345678901234.56", "too many"),  # PostgreSQL keeps it, SQLite reads back 12345678901234.60
             ("123456789012345.67", "too many"),  # PostgreSQL refuses the row, SQLite keeps it
             ("10000000000000.00", "")]  # 10^13: one significant digit
    subs = [node_submit(type="tests.ledger.policy_with_amount", institution="REG", check=False,
                        payload={"version": version, "cap": cap}) for version, (cap, _) in enumerate(cases, 1)]
    commit_pending()
    refusal = ("subsidy.policy.cap_per_operator_year_cny must have at most 15 digits (14 before the point), "
               "as every node's database holds them exactly")
    assert [_reason(sub) for sub in subs] == [refusal if outcome else "" for _, outcome in cases]
    assert sorted(Policy.objects.values_list("cap_per_operator_year_cny", flat=True)) == [
        Decimal("1234567890123.45"), Decimal("10000000000000.00")]


@register("tests.ledger.policy_with_note", roles={"regulator"})
def _policy_with_note(ctx, tx):
    """Stands in for a contract that stores text and a count it was given, unchecked."""
    from subsidy.models import Policy

    ctx.save(Policy(version=tx.payload["version"], valid_from="2030-01", per_kwh_cny=Decimal("0.2"),
                    construction_per_kw_cny=Decimal(0), min_availability=Decimal(0), cap_per_pile_year_cny=Decimal(0),
                    cap_per_operator_year_cny=Decimal(0), note=tx.payload["note"], published_by=ctx.signer_id,
                    height=ctx.block_height, tx_id=tx.id))


@pytest.mark.django_db
def test_text_over_its_length_and_integers_out_of_range_are_refused_before_they_are_written(world):
    """note is varchar(200) and version a 32-bit integer on PostgreSQL, which refuses the row (a
    DataError, so a node failure there), while SQLite keeps any length and 64-bit integers: the
    same coded rejection on both, before anything is written."""
    from subsidy.models import Policy

    cases = [(1, "n" * 200, ""),
             (2, "n" * 201, "subsidy.policy.note must be at most 200 characters long"),
             (2**31, "ok", "subsidy.policy.version must be from 0 to 2147483647"),
             (2**31 - 1, "ok", "")]
    subs = [node_submit(type="tests.ledger.policy_with_note", institution="REG", check=False,
                        payload={"version": version, "note": note}) for version, note, _ in cases]
    commit_pending()
    assert [_reason(sub) for sub in subs] == [reason for _, _, reason in cases]
    assert sorted(Policy.objects.values_list("version", flat=True)) == [1, 2**31 - 1]


@pytest.mark.parametrize("timestamp_ms, expected", [
    (1_700_000_000_001, dt.datetime(2023, 11, 14, 22, 13, 20, 1000, tzinfo=dt.timezone.utc)),
    (32_503_680_000_001, dt.datetime(3000, 1, 1, 0, 0, 0, 1000, tzinfo=dt.timezone.utc)),
    (253_402_300_799_999, dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.timezone.utc)),
])
def test_block_time_is_the_headers_milliseconds_exactly(timestamp_ms, expected):
    """Through a float (timestamp_ms / 1000) the year 3000's first millisecond comes out as 999 µs."""
    from ledger.chain.block import ZERO_HASH, BlockHeader
    from ledger.execution import ContractContext

    header = BlockHeader(chain_id="pilechain-test", height=1, prev_hash=ZERO_HASH, timestamp_ms=timestamp_ms,
                         tx_root=ZERO_HASH, tx_count=0, state_root=ZERO_HASH, view=0, proposer="OP-A")
    assert ContractContext(tx=None, header=header, index=0, signer_role=None).block_time == expected
