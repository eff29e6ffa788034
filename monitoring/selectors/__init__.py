"""Monitoring reads: this node's tables, restricted to what the user may see."""
