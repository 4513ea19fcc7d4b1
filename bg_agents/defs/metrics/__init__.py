"""Metrics: weekly revenue, expenses and top spenders per team, computed in SQL.

Public surface: the read-only tools over these tables that agents (analyst, insights) are given.
"""

from bg_agents.defs.metrics.tools import metric_tools

__all__ = ["metric_tools"]
