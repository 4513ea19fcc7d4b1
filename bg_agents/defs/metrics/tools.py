"""Read-only metric tools for one team: weekly totals, period comparison, top categories.

The analyst agent gets all of them, the insights agent ``compare_periods``; they live here, with
the tables they read. Built per team (``metric_tools(engine, team_id, today)``): the model never
passes a team id, so no argument can reach another team's rows. Weeks are ISO weeks named by their
Monday; the model may also say ``last_week`` or ``week_before``, resolved against the team's local
``today``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.engine import Engine

from bg_agents.lib.agents.tools import Tool, ToolArgs, ToolError
from bg_agents.lib.db.models import WeeklyCategoryMetric, WeeklyMetric
from bg_agents.lib.weeks import last_complete_week, week_start

WeekRef = str
WEEK_HELP = "an ISO week: 'last_week', 'week_before', or any date in the week (YYYY-MM-DD)"
Metric = Literal["revenue", "expenses", "net", "transactions"]


class WeekArgs(ToolArgs):
    week: WeekRef = Field("last_week", description=WEEK_HELP)


class CompareArgs(ToolArgs):
    metric: Metric = Field(description="what to compare")
    period1: WeekRef = Field(description=f"the earlier week: {WEEK_HELP}")
    period2: WeekRef = Field(description=f"the later week: {WEEK_HELP}")


class TopCategoriesArgs(ToolArgs):
    week: WeekRef = Field("last_week", description=WEEK_HELP)
    limit: int = Field(5, ge=1, le=20, description="how many categories")


def resolve_week(ref: str, today: date) -> date:
    """The Monday of the week ``ref`` names; refuses weeks that have not ended yet."""
    text = ref.strip().lower().replace(" ", "_")
    last = last_complete_week(today)
    if text in ("last", "last_week", "previous_complete_week"):
        return last
    if text in ("week_before", "week_before_last", "previous_week", "the_week_before"):
        return last - timedelta(days=7)
    try:
        monday = week_start(date.fromisoformat(text))
    except ValueError:
        raise ToolError(f"cannot read week {ref!r}; use {WEEK_HELP}") from None
    if monday > last:
        raise ToolError(f"the week of {monday} has not ended yet; the latest complete is {last}")
    return monday


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class _TeamMetrics:
    """The tools' queries, bound to one team and its local ``today``."""

    def __init__(self, engine: Engine, team_id: int, today: date) -> None:
        self.engine, self.team_id, self.today = engine, team_id, today

    def metrics_row(self, monday: date) -> WeeklyMetric:
        engine, team_id = self.engine, self.team_id
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(WeeklyMetric.__table__).where(
                    WeeklyMetric.team_id == team_id, WeeklyMetric.week_start == monday
                )
            ).first()
            if row is None:
                weeks = conn.scalars(
                    sa.select(WeeklyMetric.week_start)
                    .where(WeeklyMetric.team_id == team_id)
                    .order_by(WeeklyMetric.week_start.desc())
                    .limit(3)
                ).all()
        if row is None:
            known = ", ".join(w.isoformat() for w in weeks) or "none yet"
            raise ToolError(f"no metrics for the week of {monday} (latest weeks: {known})")
        return row  # type: ignore[return-value]

    def get_weekly_metrics(self, args: WeekArgs) -> dict[str, Any]:
        monday = resolve_week(args.week, self.today)
        m = self.metrics_row(monday)
        return {
            "week_start": monday,
            "week_end": monday + timedelta(days=6),
            "currency": m.currency,
            "revenue": m.revenue,
            "expenses": m.expenses,
            "net": m.net,
            "transactions": m.transaction_count,
            "previous_week": {
                "revenue": m.prev_revenue,
                "expenses": m.prev_expenses,
                "net": m.prev_net,
            },
            "change_pct": {
                "revenue": _pct(m.revenue_change_pct),
                "expenses": _pct(m.expenses_change_pct),
                "net": _pct(m.net_change_pct),
            },
        }

    @staticmethod
    def value(m: WeeklyMetric, metric: str) -> Decimal | int:
        return m.transaction_count if metric == "transactions" else getattr(m, metric)

    def compare_periods(self, args: CompareArgs) -> dict[str, Any]:
        first = resolve_week(args.period1, self.today)
        second = resolve_week(args.period2, self.today)
        m1, m2 = self.metrics_row(first), self.metrics_row(second)
        previous, current = self.value(m1, args.metric), self.value(m2, args.metric)
        change = (
            None
            if previous == 0
            else round(
                float((Decimal(current) - Decimal(previous)) / abs(Decimal(previous))) * 100,
                1,
            )
        )
        return {
            "metric": args.metric,
            "currency": None if args.metric == "transactions" else m2.currency,
            "period1": {"week_start": first, "value": previous},
            "period2": {"week_start": second, "value": current},
            "previous": previous,
            "current": current,
            "change_pct": change,
        }

    def top_categories(self, args: TopCategoriesArgs) -> dict[str, Any]:
        monday = resolve_week(args.week, self.today)
        currency = self.metrics_row(monday).currency
        c = WeeklyCategoryMetric
        team_id = self.team_id
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    c.category,
                    c.expenses,
                    c.transaction_count,
                    c.prev_expenses,
                    c.change_pct,
                )
                .where(c.team_id == team_id, c.week_start == monday, c.expenses > 0)
                .order_by(c.expenses.desc(), c.category)
                .limit(args.limit)
            ).all()
        return {
            "week_start": monday,
            "currency": currency,
            "categories": [
                {
                    "category": r.category,
                    "expenses": r.expenses,
                    "transactions": r.transaction_count,
                    "previous_week": r.prev_expenses,
                    "change_pct": _pct(r.change_pct),
                }
                for r in rows
            ],
        }


def metric_tools(engine: Engine, team_id: int, today: date) -> list[Tool]:
    """The three tools, bound to ``team_id``: no argument the model passes can name a team."""
    team = _TeamMetrics(engine, team_id, today)
    return [
        Tool(
            "get_weekly_metrics",
            "Revenue, expenses, net and transaction count of one week, with the week before.",
            WeekArgs,
            team.get_weekly_metrics,
        ),
        Tool(
            "compare_periods",
            "Compare a metric between two weeks: previous value, current value, change in %.",
            CompareArgs,
            team.compare_periods,
        ),
        Tool(
            "top_categories",
            "The week's spending categories, largest first, with last week's figure and change.",
            TopCategoriesArgs,
            team.top_categories,
        ),
    ]
