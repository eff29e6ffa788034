"""A pile's operational state on the registry's pages and API: an extension point.

The state combines the registry's status with what the apps above it know (the live state, faults
and work orders, calibration: monitoring.operational_state has the rule). The registry may not import
them (layer 2 under layer 3), so the app that owns the rule installs a provider here from its
`AppConfig.ready`, as the registry does for the ledger's device keys (ledger.signers). Without one
(an installation without monitoring) the pages show the registry status alone and the filter
refuses every value.

A provider has:
- `choices()`: [(state, label)], in the rule's order of precedence;
- `states(user, piles)`: {pile pk: state}, each state with `state`, `label`, `badge` (ok, warn,
  bad, muted), `reason`, `warning_labels`, `parts` (each with `label`, `value_label`, `source_label`,
  `at`, `visible`, `detail`) and `as_dict()` (the API's body, registry.api.serializers);
- `filter(queryset, user, states)`: the piles of `queryset` in one of `states`, in SQL.
"""

from __future__ import annotations

from typing import Protocol


class PileStateProvider(Protocol):
    def choices(self) -> list[tuple[str, str]]: ...

    def states(self, user, piles) -> dict: ...

    def filter(self, queryset, user, states: list[str]): ...


_provider: PileStateProvider | None = None


def install(provider: PileStateProvider | None) -> None:
    global _provider
    _provider = provider


def choices() -> list[tuple[str, str]]:
    return _provider.choices() if _provider else []


class Choices:
    """The provider's choices, read each time they are iterated (a form built for a request, the API
    schema), so a filter declared before the provider is installed still lists them."""

    def __iter__(self):
        return iter(choices())

    def __len__(self):
        return len(choices())


def states(*, user, piles) -> dict:
    """{pile pk: operational state} for `piles` as `user` may see them ({} without a provider)."""
    return _provider.states(user, piles) if _provider else {}


def attach(*, user, piles) -> list:
    """`piles` as a list, each with `operational_state` set (None without a provider)."""
    piles = list(piles)
    found = states(user=user, piles=piles)
    for pile in piles:
        pile.operational_state = found.get(pile.pk)
    return piles


def filter_piles(queryset, *, user, values: list[str]):
    if not values:
        return queryset
    if _provider is None:
        return queryset.none()
    return _provider.filter(queryset, user, values)
