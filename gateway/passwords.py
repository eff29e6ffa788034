"""Charge-point passwords (OCPP security profile 1: HTTP Basic, 16-40 characters).

A password this node generates carries 190 bits of randomness, so a salted SHA-256 is as safe as a
slow hash and costs nothing per connection (a fleet reconnects all at once after an outage). A
password a person chose gets Django's slow default hasher.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.contrib.auth.hashers import check_password, make_password

MIN_LENGTH = 16
MAX_LENGTH = 40
GENERATED_PREFIX = "gw-sha256$"


def generate() -> str:
    return secrets.token_urlsafe(24)[:32]


def hash_generated(password: str) -> str:
    salt = secrets.token_hex(8)
    return f"{GENERATED_PREFIX}{salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"


def hash_chosen(password: str) -> str:
    return make_password(password)


def matches(password: str, stored: str) -> bool:
    if stored.startswith(GENERATED_PREFIX):
        salt, _, digest = stored[len(GENERATED_PREFIX):].partition("$")
        return hmac.compare_digest(hashlib.sha256((salt + password).encode()).hexdigest(), digest)
    return check_password(password, stored)


def problem(password: str) -> str | None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"a charge point password has {MIN_LENGTH} to {MAX_LENGTH} characters"
    if not password.isprintable() or not password.isascii():
        return "a charge point password is printable ASCII"
    return None
