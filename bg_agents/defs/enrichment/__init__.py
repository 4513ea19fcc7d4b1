"""Enrichment: bank lines named and categorized, customers described (docs/architecture.md)."""
