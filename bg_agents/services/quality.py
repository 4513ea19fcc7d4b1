"""Data-quality checks behind the asset checks: what must hold after each materialization."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.db.models import Transaction, WeeklyMetric
from bg_agents.db.types import from_units, money_units


@dataclass
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def duplicate_natural_keys(conn: Connection, start: date, end: date) -> CheckOutcome:
    """No (team, source, external id) appears twice among transactions booked in [start, end]."""
    dupes = conn.execute(
        sa.select(sa.func.count()).select_from(
            sa.select(Transaction.team_id)
            .where(Transaction.booking_date.between(start, end))
            .group_by(Transaction.team_id, Transaction.source, Transaction.external_id)
            .having(sa.func.count() > 1)
            .subquery()
        )
    ).scalar_one()
    return CheckOutcome(dupes == 0, f"{dupes} duplicated natural keys", {"duplicates": dupes})


def finite_amounts(conn: Connection, start: date, end: date) -> CheckOutcome:
    """Amounts are present and in range (Money refuses NaN/inf on write; this guards raw SQL)."""
    bad = conn.execute(
        sa.select(sa.func.count()).where(
            Transaction.booking_date.between(start, end),
            sa.or_(
                Transaction.amount.is_(None),
                sa.func.abs(money_units(Transaction.amount, conn.dialect.name)) >= 10**17,
            ),
        )
    ).scalar_one()
    return CheckOutcome(bad == 0, f"{bad} rows with a missing or out-of-range amount", {"bad": bad})


def weekly_totals_match(conn: Connection, week_start: date) -> CheckOutcome:
    """Stored weekly revenue and expenses equal a direct SUM over that week's transactions."""
    base = money_units(Transaction.base_amount, conn.dialect.name)
    direct = dict(
        (team, (inc or 0, exp or 0))
        for team, inc, exp in conn.execute(
            sa.select(
                Transaction.team_id,
                sa.func.sum(sa.case((base > 0, base), else_=0)),
                sa.func.sum(sa.case((base < 0, -base), else_=0)),
            )
            .where(Transaction.booking_date.between(week_start, week_start + timedelta(days=6)))
            .group_by(Transaction.team_id)
        )
    )
    stored = conn.execute(
        sa.select(WeeklyMetric.team_id, WeeklyMetric.revenue, WeeklyMetric.expenses).where(
            WeeklyMetric.week_start == week_start
        )
    ).all()
    mismatched = [
        team
        for team, revenue, expenses in stored
        if (revenue, expenses) != tuple(from_units(v) for v in direct.get(team, (0, 0)))
    ]
    missing = sorted(set(direct) - {team for team, _, _ in stored})
    passed = not mismatched and not missing
    return CheckOutcome(
        passed,
        f"{len(mismatched)} teams differ, {len(missing)} teams with transactions have no row",
        {"mismatched_teams": len(mismatched), "missing_teams": len(missing)},
    )
