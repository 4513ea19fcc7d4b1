"""Application services: database reads and writes around the pure domain functions.

Dagster assets and the CLI call these; they know nothing about Dagster.
"""
