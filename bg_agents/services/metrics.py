"""Compute and store ``weekly_metrics`` for one ISO week, all teams at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.db.models import Team, Transaction, WeeklyCategoryMetric, WeeklyMetric
from bg_agents.db.types import from_units, money_units
from bg_agents.db.upsert import replace_slice, upsert
from bg_agents.domain.metrics import AGG_COLUMNS, weekly_category_metrics, weekly_team_metrics

MONEY = ("revenue", "expenses", "net", "prev_revenue", "prev_expenses", "prev_net")


@dataclass
class WeeklyMetricsResult:
    week_start: date
    teams: pd.DataFrame  # money in integer units
    categories: pd.DataFrame


def aggregate_query(conn: Connection, week_start: date) -> sa.Select:
    """One GROUP BY team and category over the week and the week before, split by period."""
    base = money_units(Transaction.base_amount, conn.dialect.name)
    current = Transaction.booking_date >= week_start
    category = sa.func.coalesce(Transaction.category, "uncategorized")

    def total(*conds: sa.ColumnElement[bool], value: Any = 1) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((sa.and_(*conds), value), else_=0))

    return (
        sa.select(
            Transaction.team_id,
            category.label("category"),
            total(current, base > 0, value=base),
            total(current, base < 0, value=-base),
            total(current, base > 0),
            total(current, base < 0),
            total(current, base.is_(None)),
            total(~current, base > 0, value=base),
            total(~current, base < 0, value=-base),
        )
        .where(
            Transaction.booking_date >= week_start - timedelta(days=7),
            Transaction.booking_date < week_start + timedelta(days=7),
        )
        .group_by(Transaction.team_id, category)
    )


def _frame(result: sa.CursorResult, columns: list[str]) -> pd.DataFrame:
    # Plain tuples: pandas probes each SQLAlchemy Row for namedtuple attributes, which costs
    # more than the query itself at 10k rows.
    return pd.DataFrame([tuple(r) for r in result], columns=columns)


def compute_weekly_metrics(conn: Connection, week_start: date) -> WeeklyMetricsResult:
    if week_start.weekday() != 0:
        raise ValueError(f"{week_start} is not a Monday; weekly metrics use ISO weeks")
    agg = _frame(conn.execute(aggregate_query(conn, week_start)), AGG_COLUMNS)
    agg[AGG_COLUMNS[2:]] = agg[AGG_COLUMNS[2:]].astype("int64")
    teams = _frame(
        conn.execute(sa.select(Team.id, Team.base_currency).order_by(Team.id)),
        ["team_id", "currency"],
    )
    return WeeklyMetricsResult(
        week_start=week_start,
        teams=weekly_team_metrics(agg, teams),
        categories=weekly_category_metrics(agg),
    )


def _nullable(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def store_weekly_metrics(conn: Connection, result: WeeklyMetricsResult) -> None:
    """Upsert on (team, week); the week's category rows are made equal to the new ones.

    Upserts on natural keys stay correct when two runs race on PostgreSQL: the second waits for
    the first transaction's row locks, then overwrites rather than collides.
    """
    week = result.week_start
    team_rows = [
        {
            "team_id": int(r.team_id),
            "week_start": week,
            "currency": r.currency,
            **{m: from_units(getattr(r, m)) for m in MONEY},
            "transaction_count": int(r.transaction_count),
            "income_count": int(r.income_count),
            "expense_count": int(r.expense_count),
            "unconverted_count": int(r.unconverted_count),
            "revenue_change_pct": _nullable(r.revenue_change_pct),
            "expenses_change_pct": _nullable(r.expenses_change_pct),
            "net_change_pct": _nullable(r.net_change_pct),
        }
        for r in result.teams.itertuples(index=False)
    ]
    keys = ("team_id", "week_start")
    upsert(conn, WeeklyMetric, team_rows, keys, [c for c in team_rows[0] if c not in keys])
    cat_rows = [
        {
            "team_id": int(r.team_id),
            "week_start": week,
            "category": r.category,
            "expenses": from_units(r.expenses),
            "transaction_count": int(r.transaction_count),
            "prev_expenses": from_units(r.prev_expenses),
            "change_pct": _nullable(r.change_pct),
        }
        for r in result.categories.itertuples(index=False)
    ]
    replace_slice(
        conn,
        WeeklyCategoryMetric,
        WeeklyCategoryMetric.week_start == week,
        cat_rows,
        ("team_id", "week_start", "category"),
        ["expenses", "transaction_count", "prev_expenses", "change_pct"],
    )


def build_weekly_metrics(engine: Engine, week_start: date) -> WeeklyMetricsResult:
    with engine.begin() as conn:
        result = compute_weekly_metrics(conn, week_start)
        if not result.teams.empty:
            store_weekly_metrics(conn, result)
    return result
