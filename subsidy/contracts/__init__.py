"""Subsidy's ledger contracts: policies (the regulator's) and claims (an operator's, the regulator's
decisions).

Importing the package registers both modules' contract types with the ledger (SubsidyConfig.ready).
"""

from subsidy.contracts import claims, policies  # noqa: F401  (registers the ledger contracts)
