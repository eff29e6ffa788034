"""The calibration contracts: verification records (records, the filing) and requests (requests);
`compliance` holds the rule for a pile's standing at a time, which settlement and subsidies use too.
Importing this package registers every `calibration.*` contract."""

from calibration.contracts import records, requests  # noqa: F401  (register calibration.*)
