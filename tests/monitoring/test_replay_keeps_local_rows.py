"""`ledger replay` rebuilds the ledger's tables on a node that also holds its own rows pointing at
them (telemetry, status history): those still point at the same piles afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ledger.audit import audit_tables
from ledger.execution import node_state, replay_all
from ledger.runtime import node
from ledger.state.rows import entry_bytes, owned_models
from monitoring.ingest import record_status
from registry.models import Pile

pytestmark = pytest.mark.django_db


def ledger_rows() -> dict:
    return {(m._meta.label_lower, str(r.public_id)): (r.pk, entry_bytes(r))
            for m in owned_models() for r in m._base_manager.all()}


def test_replay_restores_rows_with_their_keys_under_node_local_references(world):
    event = record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code="GroundFailure",
                          info="", timestamp=timezone.now() - dt.timedelta(seconds=5), source="test")
    before, root = ledger_rows(), node_state().state_root

    assert replay_all(role_of=node.role_of) >= 4

    assert ledger_rows() == before  # same primary keys, same state entries
    assert node_state().state_root == root
    assert audit_tables().ok
    event.refresh_from_db()
    assert event.pile_id == Pile.objects.get(code="PILE-A1").pk
