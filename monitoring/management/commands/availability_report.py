"""manage.py availability_report [--day YYYY-MM-DD] [--operator CODE ...]: commit the daily
availability reports of this node's operators now (the hourly task does it on its own)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ledger.runtime import node
from core import localtime
from monitoring.services.anchoring import signing_operators
from monitoring.services.availability import DayNotOver, availability_report_day, report_due_days


class Command(BaseCommand):
    help = "Report a day's availability of this node's operators' piles on the ledger (default: the days due)."

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the local day, YYYY-MM-DD (default: yesterday and the days due before it)")
        parser.add_argument("--operator", action="append", help="only this operator (repeatable; it must be signed for here)")

    def handle(self, *args, **options):
        if not node.configured():
            raise CommandError("this node has no consortium definition")
        operators = options["operator"]
        if operators:
            unknown = sorted(set(operators) - set(signing_operators()))
            if unknown:
                raise CommandError(f"not an operator this node signs for: {', '.join(unknown)}")
        if options["day"]:
            day = localtime.parse_day(options["day"])
            if day is None:
                raise CommandError(f"--day must be YYYY-MM-DD, not {options['day']!r}")
            try:
                reports = [availability_report_day(day=day, operators=operators)]
            except DayNotOver as exc:
                raise CommandError(str(exc)) from None
        else:
            reports = report_due_days(operators=operators)
        for report in reports:
            self.stdout.write(f"{report.day}: {report.piles} piles in {len(report.submissions)} transactions"
                              + "".join(f" {s.tx_id}" for s in report.submissions))
            for operator, reason in report.refused:
                self.stderr.write(f"{report.day}: the report of {operator} was refused: {reason}")
