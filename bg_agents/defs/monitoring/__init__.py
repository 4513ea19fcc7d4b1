"""Monitoring: failed runs alert the operators through the notification engine (an internal
``_operators`` team), and ``bg-agents health`` reads the Dagster instance's schedules, sensors and
runs. Its public surface is the internal team's slug, which other domains may leave out."""

from bg_agents.defs.monitoring.operators import OPERATORS_SLUG

__all__ = ["OPERATORS_SLUG"]
