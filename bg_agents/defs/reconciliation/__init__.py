"""Reconciliation: unmatched records, the matcher, the tie-breaker agent and the links."""
