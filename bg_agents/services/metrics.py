"""Compute and store ``weekly_metrics`` for one ISO week, all teams at once, inside the database.

One GROUP BY (team x category, split into this week and the week before) scans the transactions
once into a temporary table; two ``INSERT ... SELECT ... ON CONFLICT`` statements roll it up into
``weekly_category_metrics`` and ``weekly_metrics``. No row passes through Python, so the asset costs
about what a hand-written GROUP BY costs (benchmarks/ingest_and_metrics.py measures the ratio), and
10,000 teams cost about as much as ten per team. Sums stay in Money's exact storage form (integer
units on SQLite, NUMERIC on PostgreSQL); percentages are computed against ``|previous|`` and are
NULL when the previous week was zero, so a smaller loss reads as an improvement. Rows that did not
change are not rewritten, so a re-run writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bg_agents.db.models import Team, Transaction, WeeklyCategoryMetric, WeeklyMetric
from bg_agents.db.upsert import update_if_changed

AGG = "tmp_weekly_agg"
# Money sums (stored form) and counts, per team and category, this week then the week before.
SUMS = (
    "income",
    "expense",
    "income_n",
    "expense_n",
    "unconverted_n",
    "prev_income",
    "prev_expense",
)
_agg = sa.table(
    AGG,
    sa.column("team_id", sa.BigInteger),
    sa.column("category", sa.String),
    *(sa.column(c, sa.BigInteger if c.endswith("_n") else sa.Numeric) for c in SUMS),
)


@dataclass(frozen=True)
class WeeklyMetricsResult:
    week_start: date
    teams: int
    teams_with_activity: int
    transactions: int
    category_rows: int


def aggregate_query(week_start: date) -> sa.Select:
    """team x category sums for the week and the week before, in Money's storage form.

    Nothing here passes through Python, so sums stay in the column's stored representation
    (exact integer units on SQLite, NUMERIC on PostgreSQL) and are written back as they are.
    """
    base = Transaction.base_amount
    current = Transaction.booking_date >= week_start
    category = sa.func.coalesce(Transaction.category, "uncategorized")

    def total(*conds: sa.ColumnElement[bool], value: Any = 1) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((sa.and_(*conds), value), else_=0))

    return (
        sa.select(
            Transaction.team_id.label("team_id"),
            category.label("category"),
            total(current, base > 0, value=base).label("income"),
            total(current, base < 0, value=-base).label("expense"),
            total(current, base > 0).label("income_n"),
            total(current, base < 0).label("expense_n"),
            total(current, base.is_(None)).label("unconverted_n"),
            total(~current, base > 0, value=base).label("prev_income"),
            total(~current, base < 0, value=-base).label("prev_expense"),
        )
        .where(
            Transaction.booking_date >= week_start - timedelta(days=7),
            Transaction.booking_date < week_start + timedelta(days=7),
        )
        .group_by(Transaction.team_id, category)
    )


def _change_pct(cur: sa.ColumnElement[Any], prev: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # 100.0 as SQL text: NUMERIC on PostgreSQL (round(numeric, 2) exists, round(float, 2) does
    # not) and REAL on SQLite (which would otherwise divide integers).
    pct = (cur - prev) * sa.literal_column("100.0") / sa.func.abs(prev)
    return sa.case((prev == 0, None), else_=sa.func.round(pct, 2))


def _upsert_from(
    dialect: str, model: Any, select: sa.Select, key: tuple[str, ...], touch: tuple[str, ...] = ()
) -> sa.Insert:
    columns = [c.name for c in select.selected_columns]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(model.__table__)
    update = [c for c in columns if c not in key and c not in touch]
    stmt = insert.from_select(columns, select)
    return update_if_changed(stmt, model.__table__, key, update, touch)


def store_weekly_metrics(conn: Connection, week_start: date) -> WeeklyMetricsResult:
    """Write one week's rows for every team (silent teams get zeros); returns counts for the UI."""
    if week_start.weekday() != 0:
        raise ValueError(f"{week_start} is not a Monday; weekly metrics use ISO weeks")
    dialect = conn.dialect.name
    query = aggregate_query(week_start).compile(conn, compile_kwargs={"literal_binds": True})
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {AGG}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {AGG} AS {query}")
    # The stale-row DELETE below probes this table once per stored row.
    conn.exec_driver_sql(f"CREATE INDEX {AGG}_key ON {AGG} (team_id, category)")
    a = _agg.c
    week = sa.literal(week_start, sa.Date)

    spent = sa.or_(a.expense > 0, a.prev_expense > 0)
    categories = sa.select(
        a.team_id,
        week.label("week_start"),
        a.category,
        a.expense.label("expenses"),
        a.expense_n.label("transaction_count"),
        a.prev_expense.label("prev_expenses"),
        _change_pct(a.expense, a.prev_expense).label("change_pct"),
    ).where(spent)
    conn.execute(
        _upsert_from(
            dialect, WeeklyCategoryMetric, categories, ("team_id", "week_start", "category")
        )
    )
    wcm = WeeklyCategoryMetric
    conn.execute(
        sa.delete(wcm).where(
            wcm.week_start == week_start,
            ~sa.exists().where(a.team_id == wcm.team_id, a.category == wcm.category, spent),
        )
    )

    sums = (
        sa.select(
            a.team_id,
            *(sa.func.sum(a[c]).label(c) for c in SUMS),
        )
        .group_by(a.team_id)
        .subquery()
    )

    def z(column: str) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sums.c[column], 0)

    net, prev_net = z("income") - z("expense"), z("prev_income") - z("prev_expense")
    teams = sa.select(
        Team.id.label("team_id"),
        week.label("week_start"),
        Team.base_currency.label("currency"),
        z("income").label("revenue"),
        z("expense").label("expenses"),
        net.label("net"),
        (z("income_n") + z("expense_n") + z("unconverted_n")).label("transaction_count"),
        z("income_n").label("income_count"),
        z("expense_n").label("expense_count"),
        z("unconverted_n").label("unconverted_count"),
        z("prev_income").label("prev_revenue"),
        z("prev_expense").label("prev_expenses"),
        prev_net.label("prev_net"),
        _change_pct(z("income"), z("prev_income")).label("revenue_change_pct"),
        _change_pct(z("expense"), z("prev_expense")).label("expenses_change_pct"),
        _change_pct(net, prev_net).label("net_change_pct"),
        sa.func.current_timestamp().label("computed_at"),
    ).select_from(sa.outerjoin(Team, sums, sums.c.team_id == Team.id))
    if dialect == "sqlite":
        # SQLite cannot tell INSERT ... SELECT ... ON CONFLICT apart from a join's ON without it.
        teams = teams.where(sa.true())
    conn.execute(
        _upsert_from(dialect, WeeklyMetric, teams, ("team_id", "week_start"), ("computed_at",))
    )

    counts = conn.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(Team).scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(a.team_id)))
            .where(a.income_n + a.expense_n + a.unconverted_n > 0)
            .scalar_subquery(),
            sa.select(
                sa.func.coalesce(sa.func.sum(a.income_n + a.expense_n + a.unconverted_n), 0)
            ).scalar_subquery(),
            sa.select(sa.func.count()).select_from(_agg).where(spent).scalar_subquery(),
        )
    ).one()
    conn.exec_driver_sql(f"DROP TABLE {AGG}")
    return WeeklyMetricsResult(week_start, *(int(c) for c in counts))


def build_weekly_metrics(engine: Engine, week_start: date) -> WeeklyMetricsResult:
    with engine.begin() as conn:
        return store_weekly_metrics(conn, week_start)


def top_spenders(conn: Connection, week_start: date, limit: int = 10) -> list[Any]:
    """The week's biggest spenders, for the asset's markdown preview."""
    m = WeeklyMetric
    return conn.execute(
        sa.select(
            Team.slug, m.currency, m.revenue, m.expenses, m.expenses_change_pct, m.transaction_count
        )
        .join(Team, Team.id == m.team_id)
        .where(m.week_start == week_start, m.transaction_count > 0)
        .order_by(m.expenses.desc())
        .limit(limit)
    ).all()
