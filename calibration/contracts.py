"""The calibration contracts: verification requests and records (see contracts_records for filing)."""

from __future__ import annotations

from calibration import contracts_records, contracts_requests  # noqa: F401  (register calibration.*)
