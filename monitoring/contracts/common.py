"""What monitoring's contracts share: reading a payload's fields."""

from __future__ import annotations

from ledger.contracts import plain_text


def text(ctx, p, name, limit, required=False, multiline=False):
    """The payload's string field `name`, at most `limit` characters, plain text (rejected otherwise)."""
    value = p.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        ctx.reject(f"{name} must be a string of at most {limit} characters" + (" (required)" if required else ""))
    return plain_text(value, name, multiline=multiline)


def only(ctx, p, allowed):
    """Reject a payload with fields other than `allowed`."""
    extra = set(p) - set(allowed)
    if extra:
        ctx.reject(f"unexpected fields: {', '.join(sorted(extra))}")
