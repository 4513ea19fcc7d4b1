"""Reconciliation: the matcher, its rules and tools, record_matches, bg-agents match."""
