"""Metrics: weekly revenue, expenses and top spenders per team, computed in SQL.

Public surface: the read-only tools over these tables that agents (analyst, insights) are given,
and why a team's week has no metrics row (insights say it instead of writing from nothing).
"""

from bg_agents.defs.metrics.service import missing_metrics_reason
from bg_agents.defs.metrics.tools import metric_tools

__all__ = ["metric_tools", "missing_metrics_reason"]
