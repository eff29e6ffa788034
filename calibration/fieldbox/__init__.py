"""The field test box as the platform sees it: register map, signed measurement record, certificate check.

Pure code with no Django and no pymodbus (only `simulator` needs pymodbus), so the field agent on the
calibration staff's laptop and the platform's forms and contracts can both import it. It imports
nothing from the repository except ledger.chain.encoding and ledger.chain.crypto.
The format is described in docs/calibration-field.md.
"""
