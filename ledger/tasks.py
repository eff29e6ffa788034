"""Celery tasks of the ledger: the drain loop and message delivery. Tasks take plain values and
call into ledger.runtime; they hold no logic of their own."""

from __future__ import annotations

import base64
import logging

import requests
from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down
from django.core.cache import cache

from ledger.audit import audit_tables
from ledger.runtime import node, peers, wake
from ledger.runtime.driver import Driver
from ledger.runtime.sender import PeerSender

logger = logging.getLogger("pilechain.ledger.tasks")

DRIVE_SECONDS = 240  # then the task ends and the next one takes the lease over: workers can roll


@shared_task(name="ledger.drive", ignore_result=True, acks_late=False, bind=True)
def drive(self) -> None:
    """Run the drain loop if no live driver holds the lease. Started when a worker comes up, and
    re-sent by beat as a watchdog; a copy that finds the lease taken returns at once."""
    if not node.configured():
        return
    worker = self.request.hostname
    if worker and wake.stop_requested(worker):
        return
    driver = Driver(send=peer_sender())
    if driver.start():
        driver.run(max_seconds=DRIVE_SECONDS, worker=worker)
        if not (worker and wake.stop_requested(worker)):
            drive.delay()


AUDIT_RUNNING_KEY = "ledger:audit:running"
AUDIT_LOCK_SECONDS = 6 * 3600  # a worker that died mid-audit holds it no longer than this


@shared_task(name="ledger.audit", ignore_result=True)
def audit() -> None:
    """Recompute the ledger-owned tables' digest and compare it with the chain (beat, every
    PILECHAIN_AUDIT_EVERY_S). Its time grows with the rows (minutes at millions): one at a time per
    node, and a run that could not start before the next one is due is dropped (the beat entry expires)."""
    if not node.configured():
        return
    if not cache.add(AUDIT_RUNNING_KEY, 1, timeout=AUDIT_LOCK_SECONDS):
        logger.info("audit skipped: the previous one is still running")
        return
    try:
        result = audit_tables()
    finally:
        cache.delete(AUDIT_RUNNING_KEY)
    if not result.ok:
        logger.error("audit failed at height %s: tables %s, chain %s", result.height, result.found, result.expected)


@shared_task(
    name="ledger.deliver",
    ignore_result=True,
    autoretry_for=(requests.RequestException,),
    retry_backoff=0.2,
    retry_backoff_max=5,
    retry_jitter=True,
    max_retries=8,
)
def deliver(peer: str, payload_b64: str) -> None:
    """POST a batch of signed protocol messages to a peer's endpoint. Lost batches are harmless:
    PBFT retransmits what matters (status exchange, view change, state transfer)."""
    try:
        peers.post_batch(peer, base64.b64decode(payload_b64))
    except ValueError:
        logger.error("no such peer %s", peer)


def peer_sender() -> PeerSender:
    """The sender a driver is built with: each peer's batches posted on a thread of its own, and a
    batch that fails handed to `deliver`, which retries it."""
    return PeerSender(retry=_deliver_later)


def _deliver_later(peer: str, body: bytes) -> None:
    deliver.delay(peer, base64.b64encode(body).decode())


@worker_ready.connect
def _start_driving(sender=None, **kwargs) -> None:
    try:
        if node.configured():
            wake.clear_stop(sender.hostname)
            drive.delay()
    except Exception:  # a worker must come up even if the ledger cannot start; /ledger/status says why
        logger.exception("could not start the ledger driver")


@worker_shutting_down.connect
def _stop_driving(sender=None, **kwargs) -> None:
    # The loop runs in a pool process that no signal reaches on a warm shutdown; tell it by Redis.
    try:
        if node.configured():
            wake.request_stop(sender)
    except Exception:
        logger.exception("could not ask the ledger driver to stop")
