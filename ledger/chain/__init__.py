"""The chain format: pure functions and values, no Django, no I/O, no clock.

encoding (canonical JSON, hashes), crypto (signing keys), tx (transactions), merkle (roots and
inclusion proofs), block (headers, validator sets, commit certificates, blocks), sealed (encrypted
payload sections), lightclient (SPV receipts and header chains). The format is described for other
engineers and third parties in docs/ledger-chain.md.
"""
