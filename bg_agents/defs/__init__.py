"""Dagster wiring: partitions, resources, assets, checks, jobs, schedules and sensors.

Everything here is thin: it calls :mod:`bg_agents.services` and :mod:`bg_agents.ingest` and turns
their results into metadata the UI can show.
"""
