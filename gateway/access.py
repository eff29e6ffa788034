"""Who may do what with a pile's gateway side, in registry.access's terms: its operator's staff see it
("own"), the operator's managers and engineers command it and set its password ("operate")."""

from __future__ import annotations

from django.db.models import Q
from django.db.models.functions import Upper

from registry import access
from registry.models import Pile


def visible_piles(user):
    """Piles whose gateway page the user may see: the operator's staff, any role."""
    return Pile.objects.restrict(user, access.OWN)


def may_operate(user, pile) -> bool:
    return access.can(user, access.OPERATE, pile)


class OwnPiles(access.Rule):
    """The gateway's rows about a pile, keyed by its upper-cased code (`field`): seen by those who
    see the pile's gateway side."""

    def __init__(self, field: str = "pile_code"):
        self.field = field

    def view_q(self, user) -> Q | None:
        owned = access.own_q(Pile, user)
        if owned is None or not owned:  # nothing, or (platform administrators) every pile
            return owned
        piles = Pile.objects.filter(owned)
        # Connections key their rows by the upper-cased code, commands by the code as registered.
        return (Q(**{f"{self.field}__in": piles.annotate(upper_code=Upper("code")).values("upper_code")})
                | Q(**{f"{self.field}__in": piles.values("code")}))
