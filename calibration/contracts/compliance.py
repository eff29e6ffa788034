"""A pile's verification standing at a time: the one rule, owned by calibration.

At moment `at`, as the ledger knew it at block `height`, the standing is set by the newest compliance
change (ComplianceChange.NEWEST_FIRST: by height, then place in the block) filed at or before `height`
whose `since` (its block's time) is not after `at`: compliant or non_compliant. A compliant pile whose
due date is before `at`'s local day is overdue. With no such change the pile is unverified.

The contracts ask it (settlement's session checks, subsidy's claims), and so do calibration's pages
and API (calibration.selectors). It reads ledger-owned rows only, in a fixed order.
"""

from __future__ import annotations

import datetime as dt

from calibration.models import ComplianceChange, ComplianceStatus
from core import localtime

COMPLIANT = ComplianceStatus.COMPLIANT.value
NON_COMPLIANT = ComplianceStatus.NON_COMPLIANT.value
OVERDUE = "overdue"
UNVERIFIED = "unverified"


def standing_on(status: str, due_on: dt.date, day: dt.date) -> str:
    """The standing on local `day` of a change that set `status` with due date `due_on`."""
    if status == COMPLIANT and day > due_on:
        return OVERDUE
    return status


class ComplianceHistory:
    """A pile's compliance changes, newest first, as rows whose first three values are
    (since, status, due_on); any further values (e.g. the change's height) are carried along."""

    FIELDS = ("since", "status", "due_on")

    def __init__(self, pile, *, height: int | None, fields: tuple[str, ...] = FIELDS):
        rows = ComplianceChange.objects.filter(pile=pile)
        if height is not None:
            rows = rows.filter(height__lte=height)
        self.changes = list(rows.order_by(*ComplianceChange.NEWEST_FIRST).values_list(*fields))

    @classmethod
    def from_changes(cls, changes: list) -> ComplianceHistory:
        """From (since, status, due_on) rows already read, newest filing first."""
        history = cls.__new__(cls)
        history.changes = list(changes)
        return history

    def change_at(self, at: dt.datetime):
        """The row of the change in force at `at` (None: none yet)."""
        for row in self.changes:
            if row[0] <= at:
                return row
        return None

    def status_at(self, at: dt.datetime) -> str:
        row = self.change_at(at)
        if row is None:
            return UNVERIFIED
        return standing_on(row[1], row[2], localtime.local_day(at))
