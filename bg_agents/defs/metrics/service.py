"""Compute and store ``weekly_metrics`` for one ISO week, all teams at once, inside the database.

One GROUP BY (team x category, split into this week and the week before) scans the transactions
once into a temporary table; two ``INSERT ... SELECT ... ON CONFLICT`` statements roll it up into
``weekly_category_metrics`` and ``weekly_metrics``. No row passes through Python, so the asset costs
about what a hand-written GROUP BY costs (benchmarks/ingest_and_metrics.py measures the ratio), and
10,000 teams cost about as much as ten per team. Sums are exact integer units taken in two parts
(:func:`~bg_agents.lib.db.types.split_units`), so no team's amounts can overflow the shared
GROUP BY; a team whose totals cannot be stored is left out of the week and named; percentages are
computed against ``|previous|`` and are NULL when the previous week was zero, so a smaller loss
reads as an improvement. Rows that did not change are not rewritten, so a re-run writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bg_agents.lib.db.categories import effective_category, with_enrichment
from bg_agents.lib.db.models import (
    Team,
    Transaction,
    WeeklyCategoryMetric,
    WeeklyMetric,
    customer_teams,
)
from bg_agents.lib.db.types import (
    MAX_STORED_UNITS,
    SPLIT,
    MoneyUnits,
    joined_units,
    money_units,
    split_units,
)
from bg_agents.lib.db.upsert import update_if_changed

AGG = "tmp_weekly_agg"
# Money figures per team and category, this week then the week before: each is a sum of
# non-negative amounts, kept as (high, low) parts of its units so no SUM can overflow.
MONEY = ("income", "expense", "prev_income", "prev_expense")
COUNTS = ("income_n", "expense_n", "unconverted_n")
PARTS = tuple(f"{m}_{part}" for m in MONEY for part in ("hi", "lo"))
_agg = sa.table(
    AGG,
    sa.column("team_id", sa.BigInteger),
    sa.column("category", sa.String),
    *(sa.column(c, sa.BigInteger) for c in COUNTS),
    *(sa.column(c, MoneyUnits) for c in PARTS),
)


@dataclass(frozen=True)
class WeeklyMetricsResult:
    week_start: date
    teams: int
    teams_with_activity: int
    transactions: int
    category_rows: int
    # Teams whose figures do not fit a stored amount (|x| >= 900 trillion): no row this week.
    overflowed_teams: tuple[str, ...] = ()


def aggregate_query(week_start: date, dialect: str = "sqlite") -> sa.Select:
    """team x category sums for the week and the week before, as (high, low) units parts.

    Nothing here passes through Python. Sums are exact integers on both databases and cannot
    overflow, whatever one team stored, so one team's data can never fail every team's week.
    """
    base = Transaction.base_amount
    units = money_units(base, dialect)
    current = Transaction.booking_date >= week_start
    # A person's or learned category over the bank's, the bank's over the agent's.
    category = effective_category()

    def total(*conds: sa.ColumnElement[bool], value: Any = 1) -> sa.ColumnElement[int]:
        return sa.func.sum(sa.case((sa.and_(*conds), value), else_=0))

    figures = {
        "income": (current, base > 0, units),
        "expense": (current, base < 0, -units),
        "prev_income": (~current, base > 0, units),
        "prev_expense": (~current, base < 0, -units),
    }
    parts = []
    for name in MONEY:
        *conds, value = figures[name]
        high, low = split_units(value, dialect)
        parts += [total(*conds, value=high).label(f"{name}_hi")]
        parts += [total(*conds, value=low).label(f"{name}_lo")]
    return (
        with_enrichment(
            sa.select(
                Transaction.team_id.label("team_id"),
                category.label("category"),
                total(current, base > 0).label("income_n"),
                total(current, base < 0).label("expense_n"),
                total(current, base.is_(None)).label("unconverted_n"),
                *parts,
            )
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
    """Write one week's rows for every team (silent teams get zeros); returns counts for the UI.

    A team whose figures cannot be stored (a sum of 900 trillion or more) gets no row for the
    week, and a stale one is removed, so its insight waits; it is named in the result. Every
    other team's week is computed as usual.
    """
    if week_start.weekday() != 0:
        raise ValueError(f"{week_start} is not a Monday; weekly metrics use ISO weeks")
    dialect = conn.dialect.name
    _create_aggregate(conn, week_start, dialect)
    a = _agg.c
    sums = (
        sa.select(a.team_id, *(sa.func.sum(a[c]).label(c) for c in (*COUNTS, *PARTS)))
        .group_by(a.team_id)
        .subquery()
    )
    # Every figure is a sum of non-negative amounts: if a team's four totals fit, so do its
    # categories (parts of a total) and its net (between minus and plus the larger total).
    figures = {name: _team_figure(sums, name, dialect) for name in MONEY}
    overflowed = conn.execute(
        sa.select(Team.id, Team.slug)
        .join(sums, sums.c.team_id == Team.id)
        .where(sa.or_(*(~fits for fits, _ in figures.values())))
        .order_by(Team.slug)
    ).all()
    left_out = [team_id for team_id, _ in overflowed]

    spent = sa.or_(a.expense_hi > 0, a.expense_lo > 0, a.prev_expense_hi > 0, a.prev_expense_lo > 0)
    _store_category_rows(conn, week_start, dialect, spent, left_out)
    _store_team_rows(conn, week_start, dialect, sums, figures, left_out)
    n_teams, with_activity, transactions, category_rows = _week_counts(conn, spent, left_out)
    conn.exec_driver_sql(f"DROP TABLE {AGG}")
    return WeeklyMetricsResult(
        week_start,
        n_teams - len(left_out),
        with_activity,
        transactions,
        category_rows,
        tuple(slug for _, slug in overflowed),
    )


def _create_aggregate(conn: Connection, week_start: date, dialect: str) -> None:
    """The week's team x category sums as the temporary table ``AGG`` (see aggregate_query)."""
    query = aggregate_query(week_start, dialect).compile(
        conn, compile_kwargs={"literal_binds": True}
    )
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {AGG}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {AGG} AS {query}")
    # The stale-row DELETE in _store_category_rows probes this table once per stored row.
    conn.exec_driver_sql(f"CREATE INDEX {AGG}_key ON {AGG} (team_id, category)")


def _zero_if_missing(sums: sa.Subquery, column: str) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sums.c[column], 0)


def _team_figure(
    sums: sa.Subquery, name: str, dialect: str
) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[Any]]:
    """(whether it fits a stored amount, the amount) of one of a team's ``MONEY`` figures."""
    z = _zero_if_missing
    return joined_units(z(sums, f"{name}_hi"), z(sums, f"{name}_lo"), dialect)


def _store_category_rows(
    conn: Connection,
    week_start: date,
    dialect: str,
    spent: sa.ColumnElement[bool],
    left_out: list[Any],
) -> None:
    """Upsert ``weekly_category_metrics``; delete the week's rows no longer spent or left out."""
    a = _agg.c
    week = sa.literal(week_start, sa.Date)
    expense = joined_units(a.expense_hi, a.expense_lo, dialect)[1]
    prev_expense = joined_units(a.prev_expense_hi, a.prev_expense_lo, dialect)[1]
    categories = sa.select(
        a.team_id,
        week.label("week_start"),
        a.category,
        expense.label("expenses"),
        a.expense_n.label("transaction_count"),
        prev_expense.label("prev_expenses"),
        _change_pct(expense, prev_expense).label("change_pct"),
    ).where(spent, a.team_id.not_in(left_out))
    conn.execute(
        _upsert_from(
            dialect, WeeklyCategoryMetric, categories, ("team_id", "week_start", "category")
        )
    )
    wcm = WeeklyCategoryMetric
    conn.execute(
        sa.delete(wcm).where(
            wcm.week_start == week_start,
            sa.or_(
                wcm.team_id.in_(left_out),
                ~sa.exists().where(a.team_id == wcm.team_id, a.category == wcm.category, spent),
            ),
        )
    )


def _store_team_rows(
    conn: Connection,
    week_start: date,
    dialect: str,
    sums: sa.Subquery,
    figures: dict[str, tuple[sa.ColumnElement[bool], sa.ColumnElement[Any]]],
    left_out: list[Any],
) -> None:
    """Upsert ``weekly_metrics`` for every team not left out; delete the left-out teams' rows."""

    def z(column: str) -> sa.ColumnElement[Any]:
        return _zero_if_missing(sums, column)

    week = sa.literal(week_start, sa.Date)
    revenue, expenses = figures["income"][1], figures["expense"][1]
    prev_revenue, prev_expenses = figures["prev_income"][1], figures["prev_expense"][1]
    net, prev_net = revenue - expenses, prev_revenue - prev_expenses
    teams = (
        sa.select(
            Team.id.label("team_id"),
            week.label("week_start"),
            Team.base_currency.label("currency"),
            revenue.label("revenue"),
            expenses.label("expenses"),
            net.label("net"),
            (z("income_n") + z("expense_n") + z("unconverted_n")).label("transaction_count"),
            z("income_n").label("income_count"),
            z("expense_n").label("expense_count"),
            z("unconverted_n").label("unconverted_count"),
            prev_revenue.label("prev_revenue"),
            prev_expenses.label("prev_expenses"),
            prev_net.label("prev_net"),
            _change_pct(revenue, prev_revenue).label("revenue_change_pct"),
            _change_pct(expenses, prev_expenses).label("expenses_change_pct"),
            _change_pct(net, prev_net).label("net_change_pct"),
            sa.func.current_timestamp().label("computed_at"),
        )
        .select_from(sa.outerjoin(Team, sums, sums.c.team_id == Team.id))
        # Also what SQLite needs to tell INSERT ... SELECT ... ON CONFLICT from a join's ON.
        .where(Team.id.not_in(left_out), customer_teams())
    )
    conn.execute(
        _upsert_from(dialect, WeeklyMetric, teams, ("team_id", "week_start"), ("computed_at",))
    )
    if left_out:
        conn.execute(
            sa.delete(WeeklyMetric).where(
                WeeklyMetric.week_start == week_start, WeeklyMetric.team_id.in_(left_out)
            )
        )


def _week_counts(
    conn: Connection, spent: sa.ColumnElement[bool], left_out: list[Any]
) -> tuple[int, int, int, int]:
    """(teams, teams with activity, transactions, category rows) of the week, from ``AGG``."""
    a = _agg.c
    active = a.income_n + a.expense_n + a.unconverted_n
    counts = conn.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(Team).where(customer_teams()).scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(a.team_id))).where(active > 0).scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(active), 0)).scalar_subquery(),
            sa.select(sa.func.count())
            .select_from(_agg)
            .where(spent, a.team_id.not_in(left_out))
            .scalar_subquery(),
        )
    ).one()
    n_teams, with_activity, transactions, category_rows = (int(c) for c in counts)
    return n_teams, with_activity, transactions, category_rows


def build_weekly_metrics(engine: Engine, week_start: date) -> WeeklyMetricsResult:
    with engine.begin() as conn:
        return store_weekly_metrics(conn, week_start)


def top_spenders(conn: Connection, week_start: date, per_currency: int = 3) -> list[Any]:
    """The week's biggest spenders in each base currency, for the asset's markdown preview.

    Teams keep their books in different currencies and no exchange rate is stored, so amounts
    are only ranked against others in the same currency: 3.8 billion IRR is not a bigger spend
    than 40,000 EUR. Ordered by currency, then expenses (largest first).
    """
    m = WeeklyMetric
    ranked = (
        sa.select(
            Team.slug,
            m.currency,
            m.revenue,
            m.expenses,
            m.expenses_change_pct,
            m.transaction_count,
            sa.func.row_number()
            .over(partition_by=m.currency, order_by=(m.expenses.desc(), Team.slug))
            .label("rank"),
        )
        .join(Team, Team.id == m.team_id)
        .where(m.week_start == week_start, m.transaction_count > 0)
        .subquery()
    )
    return conn.execute(
        sa.select(ranked)
        .where(ranked.c.rank <= per_currency)
        .order_by(ranked.c.currency, ranked.c.rank)
    ).all()


def missing_metrics_reason(conn: Connection, team: str, week: date) -> str | None:
    """Why team ``team``'s ``week`` has no weekly_metrics row (so no insight can be written for
    it), in words for the user; None when the row exists."""
    team_id = conn.scalar(sa.select(Team.id).where(Team.slug == team))
    has_row = sa.select(WeeklyMetric.team_id).where(WeeklyMetric.week_start == week)
    if conn.execute(has_row.where(WeeklyMetric.team_id == team_id)).first() is not None:
        return None
    # The same sums weekly_metrics takes (this week and the one before), joined exactly here.
    agg = aggregate_query(week, conn.dialect.name).where(Transaction.team_id == team_id).subquery()
    totals = dict.fromkeys(MONEY, 0)
    for row in conn.execute(sa.select(agg)).mappings():
        for name in MONEY:
            totals[name] += int(row[f"{name}_hi"] or 0) * SPLIT + int(row[f"{name}_lo"] or 0)
    if max(totals.values()) >= MAX_STORED_UNITS:
        return (
            "weekly_metrics left the team out of that week because its revenue or expenses "
            "(that week or the week before) add up to 900 trillion or more, which cannot be "
            "stored; correct those transactions and materialize weekly_metrics for the week again"
        )
    if conn.execute(has_row.limit(1)).first() is not None:
        return (
            "weekly_metrics for that week has no row for the team (it was computed before the "
            "team or its transactions arrived): materialize weekly_metrics for the week again"
        )
    return (
        "weekly metrics were never computed for that week (run `bg-agents demo` or materialize "
        "weekly_metrics for it first)"
    )
