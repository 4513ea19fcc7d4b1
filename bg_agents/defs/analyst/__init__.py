"""Analyst: the `bg-agents ask`/`chat` agent answering a team's questions with read-only tools.

Public surface: the read-only metrics tools, which the insights agent is given too.
"""

from bg_agents.defs.analyst.tools import analyst_tools

__all__ = ["analyst_tools"]
