"""Dashboards: the home page of each role (the regulator, operators, grid companies, metrology institutes)."""
