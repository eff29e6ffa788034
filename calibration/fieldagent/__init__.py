"""The field agent: runs on the calibration staff's laptop, reads a test box over Modbus, uploads the record.

Its own small dependency set (requirements.txt here: pymodbus, pyserial for RTU, requests,
cryptography); no Django, no database, no Redis. From the repository it imports only
calibration.fieldbox (pure) and, through it, ledger.chain.encoding and ledger.chain.crypto, which are
pure modules too. Copy those three folders (with their package __init__.py files) to a laptop and it runs.
"""
