"""Verification limits of JJG 1148-2022 (AC piles) and JJG 1149-2022 (DC chargers) as versioned data,
and the pure computation of each item's error, its verdict and the overall conclusion.

No Django: the web forms and the ledger contracts call `conclusion.evaluate` with the limits from
`table.limits_for_pile_kind`, and store the result's `to_dict()` with the regulation and data revision.
"""
