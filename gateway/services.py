"""The gateway's writes: charge-point passwords (node-local) and remote commands to piles."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from gateway import commands, passwords
from gateway.access import may_operate
from gateway.models import ChargePointCredential, RemoteCommand
from registry.models import Pile


def _pile(code: str) -> Pile:
    pile = Pile.objects.filter(code__iexact=code).first()
    if pile is None:
        raise ValidationError(f"no pile {code}")
    return pile


def credential_set(*, actor, pile: str, password: str | None = None) -> str:
    """Set (or replace) a pile's password; returns it, the only time it is shown. None: generate one."""
    row = _pile(pile)
    if not may_operate(actor, row):
        raise PermissionDenied("only the pile's operator may set its password")
    return store_credential(pile_code=row.code, password=password, set_by=actor)


def store_credential(*, pile_code: str, password: str | None = None, set_by=None) -> str:
    """The node's own write, for its staff (through credential_set) and its tools (simulate_fleet)."""
    if password is None:
        password = passwords.generate()
        stored = passwords.hash_generated(password)
    else:
        problem = passwords.problem(password)
        if problem:
            raise ValidationError(problem)
        stored = passwords.hash_chosen(password)
    ChargePointCredential.objects.update_or_create(
        pile_code=pile_code.upper(), defaults={"password_hash": stored, "set_by": set_by, "set_at": timezone.now()}
    )
    return password


def credential_revoke(*, actor, pile: str) -> bool:
    row = _pile(pile)
    if not may_operate(actor, row):
        raise PermissionDenied("only the pile's operator may revoke its password")
    deleted, _ = ChargePointCredential.objects.filter(pile_code=row.code.upper()).delete()
    return bool(deleted)


def command_send(*, actor, pile: str, action: str, params: dict) -> RemoteCommand:
    """Send a remote command to a connected pile and wait for its answer (see gateway.commands)."""
    row = _pile(pile)
    if not may_operate(actor, row):
        raise PermissionDenied("only the pile's operator may command it")
    params = commands.validate(action, params)
    command = RemoteCommand.objects.create(pile_code=row.code, action=action, params=params, requested_by=actor)
    status, response = commands.dispatch(pile_code=row.code, action=action, params=params, request_id=command.pk)
    command.status, command.response, command.answered_at = status, response, timezone.now()
    command.save(update_fields=["status", "response", "answered_at"])
    return command
