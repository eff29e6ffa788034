"""The one way an app puts a transaction on the ledger.

Every app's services end here: the transaction is signed with this node's key for the institution
that owns what it changes, its contract runs first as a dry run against the committed state (unless
the caller says the state it depends on may still be pending), and it is queued for consensus. The
change itself lands when its block commits: contracts write the tables.

Whatever goes wrong comes back in the one error family (core.errors), in words for the person who
asked: the contract's refusal as `Refused` (on `field` when the caller names the input it is about),
a member this node does not sign for as `NotPermitted`, a node outside any consortium as
`NodeNotReady`. Devices and third parties that sign their own transactions use the ledger's API
(ledger.api, POST /api/ledger/transactions/), not this module.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.errors import NodeNotReady, NotPermitted, Refused
from ledger.contracts import ContractRejected
from ledger.models import Submission
from ledger.runtime.node import NotConfigured, NotHosted
from ledger.services import node_submit


def submit(*, type: str, payload: dict, institution, actor=None, check: bool = True,
           field: str | None = None) -> Submission:
    """Sign `type`/`payload` for `institution` (an Institution or its code) and queue it; returns the
    pending submission. `actor` is the person who asked (None for the node's own duties)."""
    code = institution.code if hasattr(institution, "code") else str(institution)
    try:
        return node_submit(type=type, payload=payload, institution=code, check=check,
                           submitted_by=actor if getattr(actor, "pk", None) else None)
    except NotHosted:
        raise NotPermitted(
            _("This node does not sign for %(code)s: its own staff act for it at its node.") % {"code": code}
        ) from None
    except NotConfigured as exc:
        raise NodeNotReady(_("This node is not part of a consortium yet: %(reason)s") % {"reason": exc}) from None
    except ContractRejected as exc:
        raise Refused(exc.reason, field=field) from None
    except ValidationError as exc:  # a contract's own field errors in its dry run
        raise Refused(exc) from None
