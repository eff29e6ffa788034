"""MeterValues and status changes of several piles stored in one group commit each; a refused message is
refused alone (gateway.group_commit)."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection
from ocpp.exceptions import PropertyConstraintViolationError

from gateway import events, telemetry
from gateway.group_commit import GroupCommit
from gateway.models import Presence
from monitoring.models import ConnectorState, Reading, StatusEvent
from tests.monitoring.helpers import at

pytestmark = pytest.mark.django_db(transaction=True)


def sample(value: str, unit: str = "Wh") -> dict:
    return {"timestamp": at(0), "measurand": "Energy.Active.Import.Register", "value": Decimal(value), "unit": unit,
            "phase": None, "context": "Sample.Periodic"}


def test_one_group_commit_for_many_piles_and_a_refusal_stays_alone(world):
    batcher = GroupCommit(telemetry.meter_values, max_wait_s=0.05)

    async def scenario():
        return await asyncio.gather(
            batcher.add({"pile_code": "PILE-A1", "connector_id": 1, "samples": [sample("1000")]}),
            batcher.add({"pile_code": "PILE-B1", "connector_id": 2, "samples": [sample("2.5", "kWh")]}),
            batcher.add({"pile_code": "NO-SUCH-PILE", "connector_id": 1, "samples": [sample("1")]}),
            batcher.add({"pile_code": "PILE-B1", "connector_id": 1, "samples": [sample("7", "furlongs")]}),
            return_exceptions=True,
        )

    stored_a, stored_b, unknown, bad_unit = asyncio.run(scenario())
    assert (stored_a, stored_b) == (1, 1)
    assert isinstance(unknown, PropertyConstraintViolationError) and "NO-SUCH-PILE" in str(unknown)
    assert isinstance(bad_unit, PropertyConstraintViolationError)
    rows = sorted((r.pile.code, r.connector_id, r.value) for r in Reading.objects.select_related("pile"))
    assert rows == [("PILE-A1", 1, Decimal("1000")), ("PILE-B1", 2, Decimal("2500"))]


def test_status_changes_of_many_piles_in_one_group_commit_newest_wins_and_a_refusal_stays_alone(world):
    Presence.objects.create(pile_code="PILE-A1", protocol="ocpp1.6", connected=True)
    batcher = GroupCommit(events.status_many, max_wait_s=0.05)

    def change(pile, connector, status, second, error_code=""):
        return {"pile_code": pile, "connector_id": connector, "status": status, "error_code": error_code, "info": "",
                "timestamp": at(second), "source": "ocpp1.6"}

    async def scenario():
        return await asyncio.gather(
            batcher.add(change("PILE-A1", 1, "Charging", 2)),
            batcher.add(change("PILE-A1", 1, "Preparing", 1)),  # older than the one before: history only
            batcher.add(change("PILE-B1", 2, "Available", 1)),
            batcher.add(change("NO-SUCH-PILE", 1, "Available", 1)),
            batcher.add(change("PILE-B1", 1, "", 1)),  # no status
            return_exceptions=True,
        )

    charging, preparing, available, unknown, empty = asyncio.run(scenario())
    assert {charging.status, preparing.status, available.status} == {"Charging", "Preparing", "Available"}
    assert isinstance(unknown, PropertyConstraintViolationError) and "NO-SUCH-PILE" in str(unknown)
    assert isinstance(empty, PropertyConstraintViolationError)
    assert StatusEvent.objects.count() == 3
    latest = {(s.pile.code, s.connector_id): s.status for s in ConnectorState.objects.select_related("pile")}
    assert latest[("PILE-A1", 1)] == "Charging" and latest[("PILE-B1", 2)] == "Available"
    assert set(Presence.objects.get(pile_code="PILE-A1").connectors) == {"1"}  # the gateway page, same commit


def _raising(pgcode: str, calls: list):
    """A group's store that PostgreSQL fails once with `pgcode` (raised by the server), then stores."""
    def store_many(messages):
        calls.append(len(messages))
        if len(calls) == 1:
            with connection.cursor() as cursor:
                cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'test failure' USING ERRCODE = '{pgcode}'; END $$")
        return telemetry.meter_values(messages)
    return store_many


def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: the server raises the error codes (SQLite has none to tell a rollback by)")


def test_a_batch_that_lost_a_deadlock_is_stored_once_more_and_once_only(world):
    postgresql_only()
    calls = []
    batcher = GroupCommit(_raising("40P01", calls), max_wait_s=0.05)

    async def scenario():
        return await asyncio.gather(
            batcher.add({"pile_code": "PILE-A1", "connector_id": 1, "samples": [sample("1000")]}),
            batcher.add({"pile_code": "PILE-B1", "connector_id": 1, "samples": [sample("2000")]}),
        )

    assert asyncio.run(scenario()) == [1, 1]
    assert calls == [2, 2] and Reading.objects.count() == 2


def test_a_batch_the_database_failed_otherwise_is_refused_whole_not_retried(world):
    postgresql_only()
    calls = []
    batcher = GroupCommit(_raising("08006", calls), max_wait_s=0.05)  # connection_failure: maybe committed

    async def scenario():
        return await asyncio.gather(
            batcher.add({"pile_code": "PILE-A1", "connector_id": 1, "samples": [sample("1000")]}),
            batcher.add({"pile_code": "PILE-B1", "connector_id": 1, "samples": [sample("2000")]}),
            return_exceptions=True,
        )

    first, second = asyncio.run(scenario())
    assert isinstance(first, OperationalError) and isinstance(second, OperationalError)
    assert calls == [2] and Reading.objects.count() == 0


def test_messages_arriving_while_batches_are_stored_go_together_in_the_next(world):
    sizes, release = [], threading.Event()

    def held_store(messages):
        sizes.append(len(messages))
        release.wait(10)  # the first batch is being stored until the test lets it go
        return [f"stored {m}" for m in messages]

    batcher = GroupCommit(held_store, max_wait_s=0.01, max_in_flight=1)

    async def scenario():
        first = asyncio.ensure_future(batcher.add(0))
        while not sizes:  # the first batch has left
            await asyncio.sleep(0.01)
        rest = [asyncio.ensure_future(batcher.add(i)) for i in range(1, 31)]
        await asyncio.sleep(0.05)  # all thirty wait behind it
        release.set()
        return await asyncio.gather(first, *rest)

    assert asyncio.run(scenario()) == [f"stored {i}" for i in range(31)]
    assert sizes == [1, 30]  # not 30 transactions of one
