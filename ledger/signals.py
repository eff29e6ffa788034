"""What the ledger tells the domain apps (which it never imports)."""

from django.dispatch import Signal

# Sent with `definition` (ledger.consortium.Consortium) when a node starts driving, after migrate and
# by `manage.py ledger genesis`: apps that keep a table of the members bring it up to date.
consortium_loaded = Signal()
