"""The light-node side of a simulated pile: headers verified against the consortium's keys, and
receipts of the pile's own charging-session transactions checked against them."""

from __future__ import annotations

import requests

from ledger.chain.block import ZERO_HASH, ValidatorSet
from ledger.chain.lightclient import Anchor, LightClient


class LedgerView:
    """Fetches headers and receipts over the node's API; trusts nothing it cannot verify."""

    def __init__(self, api_url: str, token: str, validators: ValidatorSet, *, keep: int = 2000):
        self.api_url = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.client = LightClient(validators, Anchor.genesis(ZERO_HASH), keep=keep)

    def _get(self, path: str, **params):
        response = self.session.get(f"{self.api_url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def sync_headers(self) -> str:
        while True:
            page = self._get("/api/ledger/blocks/", from_height=self.client.tip_height + 1, limit=500)["results"]
            if not page:
                return f"tip {self.client.tip_height}"
            verdict = self.client.extend([(item["header"], item["certificate"]) for item in page])
            if not verdict.ok:
                raise RuntimeError(f"header refused: {verdict.reason}")

    def session_records(self, pile_code: str) -> list[dict]:
        """Every session of the pile, following the list's pages."""
        page = self._get("/api/settlement/sessions/", pile=pile_code, page_size=1000)
        rows = page["results"]
        while page["next"]:
            response = self.session.get(page["next"], timeout=10)
            response.raise_for_status()
            page = response.json()
            rows += page["results"]
        return rows

    def verify_tx(self, tx_id: str) -> tuple[bool, str]:
        """(verified, why): the transaction is committed in a header this client verified."""
        found = self._get(f"/api/ledger/transactions/{tx_id}/")
        receipt = found.get("receipt")
        if receipt is None:
            return False, "not committed yet"
        if self.client.header(receipt["height"]) is None:
            self.sync_headers()
        verdict = self.client.verify_receipt(receipt)
        return verdict.ok, verdict.reason
