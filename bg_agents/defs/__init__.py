"""The domains, one folder each, loaded by ``dg.load_from_defs_folder`` (bg_agents.definitions).

A domain holds its Dagster role files (assets.py, sensors.py, schedules.py, jobs.py) beside plain
modules that never import Dagster; its ``__init__`` is the small surface other domains may use.
See docs/architecture.md.
"""
