"""Checks behind ``weekly_insights``' asset checks: stored facts equal facts rebuilt from rows."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.insights.facts import (
    BASELINE_WEEKS,
    CategoryFigures,
    InsightInputs,
    LargeTransaction,
    WeekFigures,
    build_facts,
    facts_payload,
)
from bg_agents.lib.checks import CheckOutcome
from bg_agents.lib.db.categories import effective_category, with_enrichment
from bg_agents.lib.db.models import (
    OPEN_INVOICE,
    Insight,
    Invoice,
    Team,
    Transaction,
    WeeklyMetric,
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

    Apart from the metrics table and the SQL behind :func:`~bg_agents.defs.insights.service.
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
    # A line counts under its effective category (people over the bank, the bank over the
    # agent), the one expression weekly metrics use.
    for r in conn.execute(
        with_enrichment(
            sa.select(
                t.id,
                t.team_id,
                t.booking_date,
                t.base_amount,
                effective_category().label("category"),
                t.counterparty,
                t.description,
            )
        ).where(t.team_id.in_(team_ids), t.booking_date.between(first, week + timedelta(days=6)))
    ):
        rows[r.team_id].append(r)
    due_day = week + timedelta(days=7)
    owed: dict[tuple[int, bool], list[Decimal]] = defaultdict(list)
    for r in conn.execute(
        sa.select(i.team_id, i.amount, i.amount_paid, i.due_date).where(
            i.team_id.in_(team_ids), i.status.in_(OPEN_INVOICE), i.issue_date < due_day
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
                out[r.category] -= r.base_amount
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
