"""Institutions are the consortium's members: this node's table follows the consortium definition
that every node holds byte for byte (and that the genesis state commits to)."""

from django.db import transaction

from registry.models import Institution


@transaction.atomic
def institutions_sync(*, definition) -> list[Institution]:
    """Create or update one Institution per member (code, name, role); never deletes, since people
    and history refer to them. Returns the members' rows."""
    rows = []
    for member in definition.members:
        institution, created = Institution.objects.get_or_create(
            code=member.code, defaults={"name": member.name, "role": member.role}
        )
        if not created and (institution.name, institution.role) != (member.name, member.role):
            institution.name, institution.role = member.name, member.role
            institution.save(update_fields=["name", "role"])
        rows.append(institution)
    return rows


def institutions_on_consortium_loaded(sender, definition, **kwargs) -> None:
    """The consortium_loaded receiver (connected in RegistryConfig.ready): follow the definition."""
    institutions_sync(definition=definition)
