"""Insights: each team's weekly insight, written by an agent from checked facts, delivered once.

Public surface: the fact model and number reader the analyst's answers are checked with.
"""

from bg_agents.defs.insights.facts import Fact, Facts, Figure, clean_name
from bg_agents.defs.insights.validation import check_numbers

__all__ = ["Fact", "Facts", "Figure", "check_numbers", "clean_name"]
