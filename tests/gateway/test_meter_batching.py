"""MeterValues of several piles stored in one group commit; a refused message is refused alone."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from ocpp.exceptions import PropertyConstraintViolationError

from gateway.telemetry import MeterBatcher
from monitoring.models import Reading
from tests.monitoring.helpers import at

pytestmark = pytest.mark.django_db(transaction=True)


def sample(value: str, unit: str = "Wh") -> dict:
    return {"timestamp": at(0), "measurand": "Energy.Active.Import.Register", "value": Decimal(value), "unit": unit,
            "phase": None, "context": "Sample.Periodic"}


def test_one_group_commit_for_many_piles_and_a_refusal_stays_alone(world):
    batcher = MeterBatcher(max_wait_s=0.05)

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
