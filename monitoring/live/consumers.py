"""The live fleet websocket (/ws/live/): each connector's status, each pile's connection and its
sampled power and energy, as this node applies them (its own gateway's, and what members send).

Authentication and reconnecting with `after`: monitoring.streams (the same as alerts). Filters
(query string or a {"type": "subscribe", ...} message; each a list or comma-separated): institutions
(operator or area owner), operators, areas, piles, states (OCPP statuses, "online", "offline"), kinds (status,
conn, meter). Each message is {"type": "live", "live": {"seq": S, "events": [...]}}, holding only
the events this subscriber may see (monitoring.live.stream) and asked for.
"""

from __future__ import annotations

from monitoring.live import stream
from monitoring.streams import StreamConsumer

SUBPROTOCOL = "pilechain.live"


class LiveConsumer(StreamConsumer):
    subprotocol = SUBPROTOCOL
    group = stream.GROUP
    history = stream.HISTORY
    kind = "live"

    def parse_filters(self, raw: dict) -> dict:
        return stream.parse_filters(raw)

    def select(self, item: dict) -> dict | None:
        return stream.select(item, self.scope_filter, self.filters)

    async def live_message(self, event):
        await self.deliver(event["item"])
