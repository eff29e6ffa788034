"""Settlement's ledger contracts: charging sessions (sessions) and money (billing).

Importing the package registers both modules' contract types with the ledger (SettlementConfig.ready).
"""

from settlement.contracts import billing, sessions  # noqa: F401  (registers the ledger contracts)
