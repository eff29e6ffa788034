"""Sent after a registry write commits: dashboards, websockets and (later) the ledger listen here."""

from django.dispatch import Signal

# kwargs: kind ("created", "updated", "revoked"), instance, actor
registry_changed = Signal()
