"""Monitoring services: writes (ledger submissions and node-local bookkeeping)."""
