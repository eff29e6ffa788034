"""Checks shared by the registry's tests now that every registry write is a ledger transaction:
what a refusal must leave untouched, what a page or the API answers while a write is pending, and
where the committed result shows."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

from tests.utils.cases import row_counts


def counts() -> dict[str, int]:
    """Registry rows plus the ledger's queue and committed transactions: a refused write leaves
    all of them as they were (nothing written, nothing submitted)."""
    from ledger.models import CommittedTx, Submission

    return {**row_counts(), "Submission": Submission.objects.count(), "CommittedTx": CommittedTx.objects.count()}


def pending() -> int:
    from ledger.models import Submission

    return Submission.objects.filter(status="pending").count()


def committed(tx_id: str):
    from ledger.models import CommittedTx

    return CommittedTx.objects.select_related("block").get(tx_id=tx_id)


def assert_applied(tx_id: str) -> int:
    """The transaction committed and applied; returns its block height."""
    row = committed(tx_id)
    assert row.status == "applied", (row.type, row.reason)
    return row.block.height


def assert_rejected(tx_id: str, *words: str) -> str:
    row = committed(tx_id)
    assert row.status == "rejected", row.type
    for word in words:
        assert word in row.reason, (word, row.reason)
    return row.reason


def tx_redirect(response, next_url: str) -> str:
    """A page's answer to a write: a redirect to the transaction's status page that leads on to
    `next_url`. Returns the transaction id."""
    assert response.status_code == 302, response.content[:2000]
    location = urlsplit(response["Location"])
    assert location.path.startswith("/ledger/tx/"), response["Location"]
    assert parse_qs(location.query).get("next") == [next_url], response["Location"]
    tx_id = location.path.rstrip("/").rsplit("/", 1)[-1]
    assert len(tx_id) == 64
    return tx_id


def status_page(client, tx_id: str) -> str:
    response = client.get(f"/ledger/tx/{tx_id}/")
    assert response.status_code == 200
    return response.content.decode()


def same_value(shown, sent) -> bool:
    """An API field equals what was sent, numbers compared as numbers ("100" == "100.000")."""
    if str(shown) == str(sent):
        return True
    try:
        return Decimal(str(shown)) == Decimal(str(sent))
    except (InvalidOperation, ValueError):
        return False


def assert_accepted(response) -> dict:
    """An API write that queued a transaction: 202, the transaction to follow, still pending."""
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and len(body["tx_id"]) == 64 and body["type"].startswith("registry.")
    assert body["transaction"] == f"/api/ledger/transactions/{body['tx_id']}/"
    assert response["Location"] == body["transaction"]
    return body
