"""The contracts registry: domain apps register, the ledger calls.

A contract is the deterministic function that every node runs for a committed transaction of its
type. It checks the signer's authority and the preconditions against the state before the
transaction, then writes the app's tables through `ctx.save` / `ctx.delete` so that the ledger sees
every write (they feed the state root and the audit digest). It must not read the wall clock (use
`ctx.block_time`), random numbers, auto-increment ids or encrypted payload sections.

Apps register in AppConfig.ready(), the way they register admin classes; the ledger never imports
a domain app.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

NODE = "node"
DEVICE = "device"


class ContractRejected(Exception):
    """The transaction is committed, but as rejected: its effects are rolled back, its reason kept."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Contract:
    type: str
    handler: Callable
    signer_kinds: frozenset = field(default_factory=lambda: frozenset({NODE}))
    # Institution roles whose node may sign this type (None: any member's node).
    roles: frozenset | None = None
    description: str = ""
    # For contracts applied in runs (ledger.runs): the handler of the whole run; `handler` then
    # applies a run of one.
    run_handler: Callable | None = None


class ContractRegistry:
    def __init__(self):
        self._contracts: dict[str, Contract] = {}

    def register(
        self,
        type: str,
        *,
        signer_kinds=(NODE,),
        roles=None,
        description: str = "",
    ):
        """Decorator: @contracts.register("registry.pile_register", roles={"operator"})."""

        def decorate(handler):
            if type in self._contracts and self._contracts[type].handler is not handler:
                raise ValueError(f"contract {type} registered twice")
            self._contracts[type] = Contract(
                type=type,
                handler=handler,
                signer_kinds=frozenset(signer_kinds),
                roles=frozenset(roles) if roles is not None else None,
                description=description or (handler.__doc__ or "").strip().split("\n")[0],
            )
            return handler

        return decorate

    def register_run(self, *types: str, signer_kinds=(NODE,), roles=None, description: str = ""):
        """Decorator for a run handler (ledger.runs) that applies every consecutive transaction of
        these types in a block at once: @contracts.register_run("a.open", "a.close", roles=...)."""

        def decorate(run_handler):
            from ledger.runs import apply_one

            for name in types:
                if name in self._contracts and self._contracts[name].run_handler is not run_handler:
                    raise ValueError(f"contract {name} registered twice")

                def handler(ctx, tx, _run_handler=run_handler):
                    apply_one(_run_handler, ctx)

                self._contracts[name] = Contract(
                    type=name, handler=handler, signer_kinds=frozenset(signer_kinds),
                    roles=frozenset(roles) if roles is not None else None,
                    description=description or (run_handler.__doc__ or "").strip().split("\n")[0],
                    run_handler=run_handler,
                )
            return run_handler

        return decorate

    def get(self, type: str) -> Contract | None:
        return self._contracts.get(type)

    def types(self) -> list[str]:
        return sorted(self._contracts)


contracts = ContractRegistry()
register = contracts.register
register_run = contracts.register_run


# --- payload values --------------------------------------------------------------------------------
# Every node must refuse the same values whatever its database, before anything is written: a value
# that one backend stores and another refuses (or stores differently) would split the chain.

# A decimal column on SQLite is a 64-bit float: 15 significant digits survive the round trip.
MAX_DECIMAL_DIGITS = 15
# A plain decimal in ASCII: Decimal() would also take spaces, underscores, exponents, NaN and other
# scripts' digits (which ones depends on the interpreter's Unicode tables).
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,40}(?:\.[0-9]{1,40})?")
# C0 and C1 control characters and DEL; multi-line text keeps tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class InvalidInput(ContractRejected):
    """A payload value refused before anything is written. `code` says why, in a stable word
    (control_character, not_a_number, out_of_range, too_many_decimals, too_many_digits); the reason
    is "<field> <message>"."""

    def __init__(self, field: str, code: str, message: str):
        super().__init__(f"{field} {message}")
        self.field, self.code, self.message = field, code, message


def plain_text(value: str, field: str, *, multiline: bool = False) -> str:
    """`value` if it holds no control character (multi-line text may hold tabs and line breaks).
    U+0000 cannot reach a contract (the canonical encoding refuses it); the others are refused here
    for every text a contract stores, so that what a column holds is the same kind of text on every
    node and on every page that shows it."""
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(value):
        raise InvalidInput(field, "control_character", "must not contain control characters")
    return value


def decimal_value(value, field: str, *, low: Decimal | None = None, high: Decimal | None = None,
                  places: int | None = None, integers: bool = False) -> Decimal:
    """A number from a payload: a plain decimal string (or, with `integers`, a JSON integer),
    between `low` and `high`, with at most `places` decimals and MAX_DECIMAL_DIGITS significant
    digits. Checked on the text, before any Decimal arithmetic, so that NaN, infinities and
    exponents never reach a comparison (Decimal("NaN") < 1 raises)."""
    if integers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _PLAIN_DECIMAL.fullmatch(value):
        raise InvalidInput(field, "not_a_number", 'must be a decimal number written as a string, like "12.5"')
    whole, _, fraction = value.lstrip("-").partition(".")
    fraction = fraction.rstrip("0")
    if places is not None and len(fraction) > places:
        raise InvalidInput(field, "too_many_decimals", f"must have at most {places} decimals")
    if len((whole + fraction).lstrip("0")) > MAX_DECIMAL_DIGITS:
        raise InvalidInput(field, "too_many_digits", f"must have at most {MAX_DECIMAL_DIGITS} significant digits")
    number = Decimal(value)
    if number.is_zero():
        # "-0" is a value of its own to Decimal (and in a state entry); no database keeps it.
        number = abs(number)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise InvalidInput(field, "out_of_range", f"must be {bounds}")
    return number


def aware_time(ctx, value, name: str) -> dt.datetime:
    """A payload's ISO 8601 time with its zone, in UTC; the transaction is rejected otherwise."""
    if not isinstance(value, str):
        ctx.reject(f"{name} must be an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        ctx.reject(f"{name} must be an ISO 8601 time")
    if parsed.tzinfo is None:
        ctx.reject(f"{name} must carry a time zone")
    return parsed.astimezone(dt.timezone.utc)
