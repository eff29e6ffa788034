"""Contracts read the consortium definition the chain's genesis committed to, as the node stored it
with its state, never the file this process loaded (it may have been edited since, and the process
caches it), nor a node's own settings."""

from __future__ import annotations

import json

import pytest

from ledger import definition
from ledger.consortium import Consortium, ConsortiumError
from ledger.execution import node_state
from ledger.models import CommittedTx
from ledger.runtime import node
from ledger.services import node_submit
from registry.models import Institution
from settlement.contracts.billing import regulators
from settlement.models import ServiceFee
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


def test_the_state_stores_the_definition_the_genesis_commits_to(consortium):
    state = node_state()
    stored = definition.stored()
    assert stored.digest() == node.consortium().digest()
    assert state.state_root == node.genesis_state_root(stored) or state.applied_height > 0
    assert stored.rules.time_zone == "Asia/Shanghai"


def test_an_edited_definition_file_changes_nothing_a_contract_reads(consortium, settings):
    node_state()  # the genesis: the definition in force is stored
    before = regulators()
    data = json.loads(settings.LEDGER_CONSORTIUM_FILE.read_text())
    for member in data["members"]:
        if member["code"] == "OP-B":
            member["role"] = "regulator"
    settings.LEDGER_CONSORTIUM_FILE.write_text(json.dumps(data))
    node.reset_caches()  # as a restarted process would read the edited file
    assert "OP-B" in [m.code for m in node.consortium().members if m.role == "regulator"]
    assert regulators() == before == ["REG"]


def test_a_missing_member_row_is_mirrored_before_contracts_read_it(consortium):
    node_state()
    ServiceFee.objects.all().delete()
    Institution.objects.filter(code="OP-A").update(code="OP-A-GONE")  # the mirror row is not there
    definition.forget()  # a process that starts with that database
    node_submit(type="settlement.service_fee_publish", payload={"valid_from": "2030-01-01", "per_kwh": "0.80000"},
                institution="OP-A", check=False)
    commit_pending()
    tx = CommittedTx.objects.get(type="settlement.service_fee_publish")
    assert (tx.status, tx.reason) == ("applied", "")
    assert ServiceFee.objects.get().operator.code == "OP-A"


def test_the_rules_are_in_the_digest_and_checked():
    base = {"chain_id": "c", "members": []}
    with pytest.raises(ConsortiumError, match="not a known IANA zone"):
        Consortium.from_dict({**base, "rules": {"time_zone": "Mars/Olympus"}})
    with pytest.raises(ConsortiumError, match="rules holds only"):
        Consortium.from_dict({**base, "rules": {"time_zone": "UTC", "vat": "0.13"}})



def test_who_may_sign_follows_the_definition_in_force(consortium, settings):
    """OP-B made a regulator in an edited file still signs as the operator the genesis made it."""
    node_state()
    data = json.loads(settings.LEDGER_CONSORTIUM_FILE.read_text())
    for member in data["members"]:
        if member["code"] == "OP-B":
            member["role"] = "regulator"
    settings.LEDGER_CONSORTIUM_FILE.write_text(json.dumps(data))
    node.reset_caches()
    node_submit(type="settlement.service_fee_publish", payload={"valid_from": "2030-01-01", "per_kwh": "0.80000"},
                institution="OP-B", check=False)
    commit_pending()
    tx = CommittedTx.objects.get(type="settlement.service_fee_publish")
    assert (tx.status, tx.reason) == ("applied", "")


@pytest.mark.parametrize("section, accepted", [
    ({}, True), ({"length_s": 10}, True), ({"length_s": 900, "correction_window_s": 0}, True),
    ({"length_s": 3600}, False),  # would straddle a local midnight in a zone at +05:30
    ({"length_s": 7}, False), ({"length_s": 0}, False), ({"length_s": "900"}, False),
    ({"correction_window_s": 8 * 86400}, False), ({"maintenance_cap_s": -1}, False), ({"other": 1}, False),
])
def test_the_agreed_intervals_of_a_definition(section, accepted):
    from ledger.consortium import Intervals

    if accepted:
        assert Intervals.from_dict(section).to_dict()["length_s"] == section.get("length_s", 900)
    else:
        with pytest.raises(ConsortiumError):
            Intervals.from_dict(section)
