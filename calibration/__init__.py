"""Calibration: the metrology institutes' verification of the piles' meters. Test box records filed
through the web form or the field agent, the conclusion against the regulation's limits, certificates,
verification requests, and each pile's compliance, including the one rule for "was this pile
compliant at that time" (contracts.compliance) that settlement and subsidy use."""
