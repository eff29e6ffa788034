"""A curtailment on the ledger reaches the connected piles of its area through OCPP smart charging
(1.6 ChargePointMaxProfile, 2.0.1 ChargingStationMaxProfile); each pile's answer is kept, and the
fleet simulator's piles draw no more than their share from then on."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from gateway.curtailments import apply_curtailments
from gateway.models import RemoteCommand
from gateway.simulator.piles import Plan, SimPile16, SimPile201
from ledger.services import node_submit
from tests.gateway.conftest import PASSWORD_A1, PASSWORD_B1
from tests.gateway.live import connect
from tests.gateway.pile_clients import serve
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db(transaction=True)


def curtail(area: str, institution: str, limit_kw: str) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    node_submit(type="monitoring.curtailment_request", institution=institution, check=False, payload={
        "area": area, "starts_at": now.isoformat(), "ends_at": (now + dt.timedelta(hours=1)).isoformat(),
        "limit_kw": limit_kw, "reason": "peak"})
    commit_pending()


def test_a_curtailment_reaches_both_protocols_and_the_simulated_piles_obey(server):
    curtail("AREA-1", "GRID-1", "3.0")   # PILE-A1 (7 kW, OCPP 1.6) is the area's only pile: 3,000 W
    curtail("AREA-2", "GRID-2", "60.0")  # PILE-B1 (120 kW, OCPP 2.0.1): 60,000 W

    async def scenario():
        piles = []
        for cls, code, password, protocol in ((SimPile16, "PILE-A1", PASSWORD_A1, "ocpp1.6"),
                                               (SimPile201, "PILE-B1", PASSWORD_B1, "ocpp2.0.1")):
            ws = await connect(server.url, code, password, protocol)
            pile = cls(code, ws)
            pile.init_sim(code, [1], Plan(power_w=7000 if code == "PILE-A1" else 120000), None, random.Random(1))
            piles.append((pile, serve(pile), ws))
            await pile.boot()
        try:
            counts = await asyncio.to_thread(apply_curtailments)
            again = await asyncio.to_thread(apply_curtailments)  # once per pile and curtailment
            return counts, again, [p.capped(p.plan.power_w) for p, _, _ in piles]
        finally:
            for _, task, ws in piles:
                task.cancel()
                await ws.close()

    counts, again, drawn = asyncio.run(scenario())
    assert counts == {"answered": 2} and again == {}
    assert drawn == [3000, 60000]
    answers = {c.pile_code: c for c in RemoteCommand.objects.filter(action="SetChargingProfile")}
    assert answers["PILE-A1"].response == {"status": "Accepted"} and answers["PILE-A1"].params["limit_w"] == 3000
    assert answers["PILE-B1"].params["limit_w"] == 60000 and answers["PILE-A1"].requested_by is None


def test_a_pile_not_connected_is_tried_again_later(server):
    curtail("AREA-1", "GRID-1", "3.0")
    assert apply_curtailments() == {}  # nothing connected here
    assert not RemoteCommand.objects.exists()
