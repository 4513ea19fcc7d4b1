"""Checks behind the ``weekly_metrics`` asset checks: totals equal the rows, no team left out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.checks import CheckOutcome
from bg_agents.lib.db.models import Transaction, WeeklyMetric
from bg_agents.lib.db.types import MAX_STORED_UNITS, SPLIT, from_units, money_units, split_units


def team_unit_sums(conn: Connection, query: sa.Select) -> dict[Any, list[int]]:
    """Run ``query`` (a key, then (high, low) pairs of :func:`split_units` sums) and join each
    pair into an exact Python integer: sums that no database integer could hold stay exact."""
    out = {}
    for key, *parts in conn.execute(query):
        pairs = zip(parts[::2], parts[1::2], strict=True)
        out[key] = [int(high or 0) * SPLIT + int(low or 0) for high, low in pairs]
    return out


def weekly_totals_match(conn: Connection, week_start: date) -> CheckOutcome:
    """Stored weekly revenue and expenses equal a direct sum over that week's transactions.

    Recomputed apart from the asset's SQL (units summed in parts, joined in Python), so neither a
    mis-typed sum nor an overflow can agree with itself. A team whose true totals cannot be
    stored must have no row (it is reported, not failed: see :func:`teams_left_out`).
    """
    dialect = conn.dialect.name
    units = money_units(Transaction.base_amount, dialect)
    parts = []
    for cond, value in ((units > 0, units), (units < 0, -units)):
        for part in split_units(value, dialect):
            parts.append(sa.func.sum(sa.case((cond, part), else_=0)))
    direct = team_unit_sums(
        conn,
        sa.select(Transaction.team_id, *parts)
        .where(Transaction.booking_date.between(week_start, week_start + timedelta(days=6)))
        .group_by(Transaction.team_id),
    )
    stored = {
        team: (revenue, expenses)
        for team, revenue, expenses in conn.execute(
            sa.select(WeeklyMetric.team_id, WeeklyMetric.revenue, WeeklyMetric.expenses).where(
                WeeklyMetric.week_start == week_start
            )
        )
    }
    too_large = {t for t, sums in direct.items() if max(sums) >= MAX_STORED_UNITS}
    mismatched = [
        team
        for team, figures in stored.items()
        if team in too_large or figures != tuple(from_units(v) for v in direct.get(team, (0, 0)))
    ]
    missing = sorted(set(direct) - set(stored) - too_large)
    passed = not mismatched and not missing
    return CheckOutcome(
        passed,
        f"{len(mismatched)} teams differ, {len(missing)} teams with transactions have no row",
        {
            "mismatched_teams": len(mismatched),
            "missing_teams": len(missing),
            "teams_too_large_to_store": len(too_large),
        },
    )


def teams_left_out(slugs: tuple[str, ...]) -> CheckOutcome:
    """Every team got its week; the ones whose totals cannot be stored are named (a warning:
    their insights wait, every other team's go ahead)."""
    return CheckOutcome(
        not slugs,
        f"{len(slugs)} teams left out: totals of 900 trillion or more cannot be stored"
        if slugs
        else "every team has its week",
        {"teams_left_out": ", ".join(slugs) or "none"},
    )
