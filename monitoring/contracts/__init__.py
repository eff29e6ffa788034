"""Monitoring's contracts: the deterministic handlers of monitoring's ledger transactions, their
rules and their reads of ledger-owned state.

One module per what they change: `workorders` (monitoring.fault_report, .workorder_step), `grid`
(.load_threshold_set, .grid_outage_flag), `availability_reports` (.availability_report), `interval_reports` (.interval_report, reading through
`interval_reads`), `interval_corrections` (.interval_correction, .interval_dispute), `maintenance`
(.maintenance_announce), `meter_replacements` (.meter_replacement), `curtailment` (.curtailment_request); `common`
holds the payload reading they share, `reads` the sums of the availability reports that other apps'
contracts read (subsidy). Importing this package registers every `monitoring.*` contract.
"""

from monitoring.contracts import (  # noqa: F401  (register monitoring.*)
    availability_reports, curtailment, grid, interval_corrections, interval_reports, maintenance, meter_replacements,
    workorders,
)
