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

from dataclasses import dataclass, field
from typing import Callable

from ledger.payload import (  # re-exported: contracts import them from here
    MAX_DECIMAL_DIGITS,
    ContractRejected,
    InvalidInput,
    aware_time,
    decimal_value,
    plain_text,
)
from ledger.runs import apply_one

NODE = "node"
DEVICE = "device"


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
