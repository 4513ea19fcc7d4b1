"""Reconciliation: pair records (receipts, invoices) with bank transactions. No Dagster here."""

from bg_agents.defs.reconciliation.matcher.config import (
    DEFAULT_CONFIG,
    PROFILES,
    MatcherConfig,
    profile,
)
from bg_agents.defs.reconciliation.matcher.matcher import match
from bg_agents.defs.reconciliation.matcher.rules import MatchRules, Side
from bg_agents.defs.reconciliation.matcher.types import Feedback, MatchResult, Pair, TieBreaker

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
