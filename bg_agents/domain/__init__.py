"""Pure domain logic: no Dagster, no I/O beyond what the caller passes in."""
