"""Monitoring: what the piles report and what follows. Telemetry intake and series, connector and pile
states, faults, work orders, availability (computed, reported on the ledger by each operator's node),
grid load and outages, and the alerts that go out to websocket subscribers and webhooks."""
