"""The lease that makes one drain loop per node, whatever the number of workers.

A row with a holder, an epoch and an expiry. Acquiring bumps the epoch (a fencing token); the holder
renews it as it goes; every persist transaction re-reads the row under a lock and checks the epoch,
so a driver that was paused past its expiry finds out before it writes or sends anything.
Works the same on PostgreSQL and SQLite (whose IMMEDIATE transactions serialise writers).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ledger.models import DriverLease

NAME = "replica"


class LeaseLost(RuntimeError):
    pass


def acquire(holder: str, ttl_s: float) -> int | None:
    """The new epoch if this holder now has the lease, else None."""
    now = timezone.now()
    with transaction.atomic():
        lease, _ = DriverLease.objects.select_for_update().get_or_create(name=NAME)
        if lease.holder and lease.holder != holder and lease.expires_at and lease.expires_at > now:
            return None
        lease.holder = holder
        lease.epoch += 1
        lease.expires_at = now + dt.timedelta(seconds=ttl_s)
        lease.save()
        return lease.epoch


def check_and_renew(holder: str, epoch: int, ttl_s: float) -> None:
    """Call inside the persist transaction: raises LeaseLost unless this holder still has the lease."""
    lease = DriverLease.objects.select_for_update().get(name=NAME)
    if lease.holder != holder or lease.epoch != epoch:
        raise LeaseLost(f"lease now held by {lease.holder or 'nobody'} (epoch {lease.epoch})")
    lease.expires_at = timezone.now() + dt.timedelta(seconds=ttl_s)
    lease.save(update_fields=["expires_at"])


def release(holder: str, epoch: int) -> None:
    DriverLease.objects.filter(name=NAME, holder=holder, epoch=epoch).update(holder="", expires_at=None)


def current() -> DriverLease | None:
    return DriverLease.objects.filter(name=NAME).first()
