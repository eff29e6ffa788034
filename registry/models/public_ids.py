"""Public ids that every node derives identically from content, never from auto-increment keys."""

import uuid

# Fixed forever: changing it would change every derived id on every node.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pilechain:registry")


def derived_uuid(kind: str, *natural_key: object) -> uuid.UUID:
    """uuid5 over the kind and natural key, e.g. derived_uuid("connector", "SH-A-0001", 1)."""
    return uuid.uuid5(NAMESPACE, ":".join([kind, *(str(part) for part in natural_key)]))
