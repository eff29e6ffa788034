"""The ledger, the ground floor: blocks, transactions and their Merkle proofs (chain), the PBFT replica
as a pure state machine (pbft; its simulation harness is pbfttest), the runtime that drives it between
the nodes (runtime), the contract registry and the deterministic execution of blocks, ledger-owned
state, audit, and the API to submit and prove transactions. It imports no other package of the project."""
