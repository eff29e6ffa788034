"""Subsidy: the regulator's policies, the operators' monthly claims, computed by the contract from the
ledger alone (settled energy, availability reports, compliance), and the regulator's decisions."""
