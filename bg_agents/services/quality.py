"""Data-quality checks behind the asset checks: what must hold after each materialization."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.db.models import Insight, Invoice, Team, Transaction, WeeklyMetric
from bg_agents.db.types import MAX_STORED_UNITS, SPLIT, from_units, money_units, split_units
from bg_agents.domain.insights import (
    CategoryFigures,
    InsightInputs,
    LargeTransaction,
    WeekFigures,
    build_facts,
    facts_payload,
)
from bg_agents.services.insights import BASELINE_WEEKS, OPEN


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


def _figures(payload: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (fact["key"], figure["name"]): figure["value"]
        for fact in payload.get("facts", [])
        for figure in fact["figures"]
    }


def _name(row: Any) -> str:
    return (row.description if row.counterparty is None else row.counterparty) or ""


def recomputed_inputs(conn: Connection, team_ids: Sequence[int], week: date) -> dict[int, Any]:
    """Each team's insight inputs rebuilt in Python from the raw transactions and invoices.

    Apart from the metrics table and the SQL behind :func:`~bg_agents.services.insights.
    load_inputs` on purpose: only which weeks have a metrics row is taken from there.
    """
    t, i = Transaction, Invoice
    first = week - timedelta(weeks=BASELINE_WEEKS + 1)
    measured = set(
        conn.execute(
            sa.select(WeeklyMetric.team_id, WeeklyMetric.week_start).where(
                WeeklyMetric.team_id.in_(team_ids), WeeklyMetric.week_start.between(first, week)
            )
        ).all()
    )
    rows: dict[int, list[Any]] = defaultdict(list)
    for r in conn.execute(
        sa.select(
            t.id,
            t.team_id,
            t.booking_date,
            t.base_amount,
            t.category,
            t.counterparty,
            t.description,
        ).where(t.team_id.in_(team_ids), t.booking_date.between(first, week + timedelta(days=6)))
    ):
        rows[r.team_id].append(r)
    due_day = week + timedelta(days=7)
    owed: dict[tuple[int, bool], list[Decimal]] = defaultdict(list)
    for r in conn.execute(
        sa.select(i.team_id, i.amount, i.amount_paid, i.due_date).where(
            i.team_id.in_(team_ids), i.status.in_(OPEN), i.issue_date < due_day
        )
    ):
        owed[r.team_id, r.due_date < due_day].append(r.amount - r.amount_paid)

    def in_week(team_rows: list[Any], monday: date) -> list[Any]:
        return [r for r in team_rows if monday <= r.booking_date <= monday + timedelta(days=6)]

    def figures(team_id: int, monday: date) -> WeekFigures:
        if (team_id, monday) not in measured:
            return WeekFigures(monday, Decimal(0), Decimal(0), Decimal(0), 0)
        week_rows = in_week(rows[team_id], monday)
        revenue = sum((r.base_amount for r in week_rows if (r.base_amount or 0) > 0), Decimal(0))
        expenses = -sum((r.base_amount for r in week_rows if (r.base_amount or 0) < 0), Decimal(0))
        return WeekFigures(monday, revenue, expenses, revenue - expenses, len(week_rows))

    def spent(team_rows: list[Any], monday: date) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for r in in_week(team_rows, monday):
            if (r.base_amount or 0) < 0:
                out[r.category or "uncategorized"] -= r.base_amount
        return out

    teams = conn.execute(
        sa.select(Team.id, Team.name, Team.base_currency, Team.locale).where(Team.id.in_(team_ids))
    ).all()
    out = {}
    previous = week - timedelta(weeks=1)
    for team in teams:
        if (team.id, week) not in measured:
            continue
        cur, prev = spent(rows[team.id], week), spent(rows[team.id], previous)
        categories = sorted(
            (
                CategoryFigures(c, cur.get(c, Decimal(0)), prev.get(c, Decimal(0)), None)
                for c in set(cur) | set(prev)
            ),
            key=lambda c: (-c.expenses, c.category),
        )
        outgoing = sorted(
            (r for r in in_week(rows[team.id], week) if (r.base_amount or 0) < 0),
            key=lambda r: (r.base_amount, r.id),
        )[:3]
        overdue = owed.get((team.id, True), [])
        receivable = owed.get((team.id, False), []) + overdue
        out[team.id] = InsightInputs(
            team_name=team.name,
            currency=team.base_currency,
            locale=team.locale,
            week=figures(team.id, week),
            previous=figures(team.id, previous),
            baseline=[
                figures(team.id, w)
                for w in (previous - timedelta(weeks=k) for k in range(1, BASELINE_WEEKS + 1))
                if (team.id, w) in measured
            ],
            categories=categories,
            largest=[LargeTransaction(r.booking_date, r.base_amount, _name(r)) for r in outgoing],
            overdue_amount=sum(overdue, Decimal(0)),
            overdue_count=len(overdue),
            receivables=sum(receivable, Decimal(0)),
            receivables_count=len(receivable),
        )
    return out


def insight_facts_match(conn: Connection, week: date, team_ids: Sequence[int]) -> CheckOutcome:
    """Every figure of every stored insight's facts equals one recomputed from the raw rows."""
    stored = dict(
        conn.execute(
            sa.select(Insight.team_id, Insight.facts).where(
                Insight.week_start == week, Insight.team_id.in_(team_ids)
            )
        ).all()
    )
    expected = recomputed_inputs(conn, list(stored), week)
    differing: dict[int, list[str]] = {}
    for team_id, facts in stored.items():
        if team_id not in expected:
            differing[team_id] = ["no metrics row for the week"]
            continue
        payload = json.loads(json.dumps(facts_payload(build_facts(expected[team_id])), default=str))
        want, got = _figures(payload), _figures(facts)
        wrong = sorted({*want, *got} - {k for k in want if want[k] == got.get(k)})
        if wrong:
            differing[team_id] = [
                f"{key}.{name}: stored {got.get((key, name))}, recomputed {want.get((key, name))}"
                for key, name in wrong
            ]
    sample = "; ".join(f"team {t}: {', '.join(d[:3])}" for t, d in list(differing.items())[:5])
    return CheckOutcome(
        not differing,
        f"{len(differing)} of {len(stored)} insights have facts that differ from the data"
        + (f" ({sample})" if sample else ""),
        {"insights_checked": len(stored), "insights_differing": len(differing)},
    )
