"""Operator alerts of the ledger: what the people running a node must look at.

An alert is a log record at ERROR (CRITICAL for a node that cannot apply a block) with an `alert`
field, which the JSON logs carry as an object for whatever watches them, and the signal
`ledger.signals.node_alert` for an app that pushes alerts further. The ledger never imports a
domain app, and does not write an alert to the database: the database may be what failed.

    {"code": "apply_stalled", "phase": "raised", "severity": "critical", "node": "GRID",
     "at": "2026-...Z", "height": 12, "kind": "operational", "error": "OperationalError", ...}

Codes: `apply_stalled` (raised, then `resolved`: this node could not apply a block for
PILECHAIN_APPLY_ALERT_AFTER_S, or at once for a failure that waiting will not mend) and
`contract_error` (a contract raised an unexpected exception: a bug, committed as a rejection).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from ledger.signals import node_alert

logger = logging.getLogger("pilechain.ledger.alerts")

APPLY_STALLED = "apply_stalled"
CONTRACT_ERROR = "contract_error"


def raise_alert(code: str, *, phase: str = "raised", severity: str = "critical", message: str = "", **fields) -> dict:
    """Log the alert and send it to the apps; never raises."""
    alert = {"code": code, "phase": phase, "severity": severity, "node": settings.NODE_CODE,
             "at": timezone.now().isoformat(), **fields}
    level = logging.INFO if phase == "resolved" else logging.CRITICAL if severity == "critical" else logging.ERROR
    logger.log(level, "ledger alert %s %s: %s", code, phase, message or code, extra={"alert": alert})
    for receiver, result in node_alert.send_robust(sender=None, alert=alert):
        if isinstance(result, Exception):  # an alert that cannot go further is still in the log
            logger.error("node_alert receiver %r failed: %r", receiver, result)
    return alert
