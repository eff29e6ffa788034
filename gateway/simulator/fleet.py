"""Run a fleet of simulated piles against a central system and, as light nodes, verify receipts."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from dataclasses import dataclass

import websockets

from gateway.simulator.piles import Plan, SimPile16, SimPile201

logger = logging.getLogger("pilechain.simulator")


@dataclass
class PileSpec:
    code: str
    password: str
    protocol: str  # ocpp1.6 | ocpp2.0.1
    connectors: list[int]
    meter_key: object | None  # cryptography EC private key, or None: unsigned meter values


async def run_pile(url: str, spec: PileSpec, plan: Plan, *, sessions: int | None, seed: int, duration: float | None):
    auth = base64.b64encode(f"{spec.code}:{spec.password}".encode()).decode()
    cls = SimPile16 if spec.protocol == "ocpp1.6" else SimPile201
    async with websockets.connect(
        f"{url.rstrip('/')}/ocpp/{spec.code}", subprotocols=[spec.protocol],
        additional_headers={"Authorization": f"Basic {auth}"}, open_timeout=30, ping_interval=None,
    ) as ws:
        cp = cls(spec.code, ws, response_timeout=60)
        cp.init_sim(spec.code, spec.connectors, plan, spec.meter_key, random.Random(seed))
        reader = asyncio.create_task(cp.start())
        try:
            life = cp.life(sessions)
            if duration is not None:
                try:
                    await asyncio.wait_for(life, duration)
                except asyncio.TimeoutError:
                    pass
            else:
                await life
        finally:
            reader.cancel()
        return cp.stats


async def run_fleet(url: str, specs: list[PileSpec], plan: Plan, *, sessions: int | None = None,
                    duration: float | None = None, ramp_s: float = 0.0, seed: int = 1) -> dict[str, object]:
    async def one(index, spec):
        await asyncio.sleep(ramp_s * index / max(1, len(specs)))
        try:
            return await run_pile(url, spec, plan, sessions=sessions, seed=seed + index, duration=duration)
        except Exception as exc:  # one pile's trouble is reported, the fleet goes on
            logger.warning("%s: %s", spec.code, exc)
            return exc

    results = await asyncio.gather(*(one(i, s) for i, s in enumerate(specs)))
    return {spec.code: result for spec, result in zip(specs, results)}


def verify_sessions(view, pile_codes: list[str]) -> dict[str, tuple[int, int, list[str]]]:
    """Per pile: (records verified, records pending, failures) over its charging sessions' transactions."""
    view.sync_headers()
    report = {}
    for code in pile_codes:
        ok = pending = 0
        failures = []
        for session in view.session_records(code):
            for tx_id in filter(None, (session.get("opened_tx"), session.get("closed_tx"))):
                verified, why = view.verify_tx(tx_id)
                if verified:
                    ok += 1
                elif why == "not committed yet":
                    pending += 1
                else:
                    failures.append(f"{tx_id[:12]}: {why}")
        report[code] = (ok, pending, failures)
    return report
