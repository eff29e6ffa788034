"""The gateway: this node's OCPP 1.6J / 2.0.1 central system. Pile connections and their passwords,
boot and status, transactions (handed to settlement), meter values (handed to monitoring), remote
commands, and a fleet simulator for demos and benchmarks."""
