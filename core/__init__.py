"""The shared layer between the ledger and the apps: what every app uses and no app owns.

localtime: the consortium's local day and settlement period of an instant.
"""
