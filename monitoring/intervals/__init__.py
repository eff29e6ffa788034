"""Interval reports (issue #18): what an operator's node reports of each connector for every agreed
interval, and the checks every node applies to such a report alike. Pure: no database, no clock."""
