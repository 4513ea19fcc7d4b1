"""Reconciliation: pair records (receipts, invoices) with bank transactions. No Dagster here."""

from bg_agents.domain.match_rules import MatchRules, Side
from bg_agents.matching.config import DEFAULT_CONFIG, PROFILES, MatcherConfig, profile
from bg_agents.matching.matcher import match
from bg_agents.matching.types import Feedback, MatchResult, Pair, TieBreaker

__all__ = [
    "DEFAULT_CONFIG",
    "PROFILES",
    "Feedback",
    "MatchResult",
    "MatchRules",
    "MatcherConfig",
    "Pair",
    "Side",
    "TieBreaker",
    "match",
    "profile",
]
