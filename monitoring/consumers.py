"""The alerts websocket (/ws/alerts/): fault alerts as they are reported and confirmed.

Authentication and reconnecting with `after`: monitoring.streams. Filters (query string or a
{"type": "subscribe", ...} message; each a list or comma-separated): institutions, areas, piles,
severities, phases. A subscriber only ever receives alerts about piles its institution may see
(registry.access.pile_audience), whatever it asks for.
"""

from __future__ import annotations

from monitoring import alert_history, alerts
from monitoring.streams import StreamConsumer

SUBPROTOCOL = "pilechain.alerts"


class _AlertHistory:
    @staticmethod
    def replay(after, select):
        return alert_history.replay(after, lambda alert: select(alert) is not None)


class AlertConsumer(StreamConsumer):
    subprotocol = SUBPROTOCOL
    group = alerts.GROUP
    history = _AlertHistory
    kind = "alert"

    def parse_filters(self, raw: dict) -> dict:
        return alerts.parse_filters(raw)

    def select(self, alert: dict) -> dict | None:
        """The one rule for what this subscriber is sent, live or replayed."""
        return alert if alerts.visible(alert, self.scope_filter) and alerts.matches(alert, self.filters) else None

    async def alert_message(self, event):
        await self.deliver(event["alert"])
