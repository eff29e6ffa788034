"""What the ledger tells the domain apps (which it never imports)."""

from django.dispatch import Signal

# Sent with `definition` (ledger.consortium.Consortium) when a node starts driving, after migrate and
# by `manage.py ledger genesis`: apps that keep a table of the members bring it up to date.
consortium_loaded = Signal()

# Sent with `alert` (a dict: code, severity, phase, node, ...; see ledger.alerts) when the ledger
# raises an operator alert: a block this node cannot apply, a contract that failed. A receiver
# must not raise, and must not count on this node's database: it may be what failed.
node_alert = Signal()
