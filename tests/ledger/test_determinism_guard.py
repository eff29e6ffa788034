"""The suite's determinism guard (tests/utils/determinism.py) refuses, while a block is applied, every
node-local input a contract could reach through any helper, and lets the same reads pass outside."""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import time
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from ledger.contracts import contracts
from ledger.services import node_submit
from registry.models import ApiToken, Pile
from tests.utils.determinism import NodeLocalInput
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

TYPE = "tests.reads_something"


def _reads_a_pile(ctx, tx):  # ledger-owned state: allowed
    return list(Pile.objects.values_list("code", flat=True))


READS = {
    "datetime.now": lambda ctx, tx: dt.datetime.now(dt.timezone.utc),
    "date.today": lambda ctx, tx: dt.date.today(),
    "time.time": lambda ctx, tx: time.time(),
    "timezone.now": lambda ctx, tx: timezone.now(),
    "random": lambda ctx, tx: random.random(),
    "uuid4": lambda ctx, tx: uuid.uuid4(),
    "os.urandom": lambda ctx, tx: os.urandom(4),
    "settings": lambda ctx, tx: settings.NODE_CODE,
    "os.environ": lambda ctx, tx: os.environ.get("HOME"),
    "os.getenv": lambda ctx, tx: os.getenv("HOME"),
    "network": lambda ctx, tx: socket.create_connection(("127.0.0.1", 9), timeout=0.1),
    "node-local table": lambda ctx, tx: list(ApiToken.objects.all()),
}


@pytest.fixture
def test_contract():
    def install(handler):
        contracts._contracts.pop(TYPE, None)
        contracts.register(TYPE, roles={"operator"})(handler)
    yield install
    contracts._contracts.pop(TYPE, None)


@pytest.mark.parametrize("what", sorted(READS))
def test_a_contract_that_reads_a_node_local_input_fails_the_test(world, test_contract, what):
    test_contract(READS[what])
    node_submit(type=TYPE, payload={}, institution="OP-A", check=False)
    with pytest.raises(NodeLocalInput):
        commit_pending()


def test_ledger_owned_state_and_the_block_pass(world, test_contract):
    seen = []

    def handler(ctx, tx):
        seen.append((_reads_a_pile(ctx, tx), ctx.block_time, dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
                     ctx.derive_uuid("x")))

    test_contract(handler)
    node_submit(type=TYPE, payload={}, institution="OP-A", check=False)
    assert commit_pending().applied == 1
    piles, block_time, built, derived = seen[0]
    assert piles and type(built) is dt.datetime and isinstance(block_time, dt.datetime)
    assert isinstance(derived, uuid.UUID)


def test_outside_a_block_the_same_reads_pass(world):
    for what, read in READS.items():
        if what != "network":
            read(None, None)
