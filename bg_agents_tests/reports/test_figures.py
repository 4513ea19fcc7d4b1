"""A month's figures are the books' figures: they equal an independent recomputation (raw SQL
sums, Python over raw rows) on SQLite and PostgreSQL, and each edge a finance team relies on
holds: the local month's bounds, ageing buckets at 30/31, 60/61 and 90/91 days past due, an
unknown model cost that stays unknown, and no "0" where a comparison month has no data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.reports import figures_digest, month_figures
from bg_agents.lib.db.models import LLMCall, Match, Transaction
from bg_agents_tests.reports.month_data import CUTOFF, LAST, MONTH, NOW, add_team, seed_month


def _money(conn: Connection, value: object) -> Decimal:
    """A raw SQL money value: 1/10000 units on SQLite, NUMERIC on PostgreSQL."""
    raw = Decimal(0 if value is None else value)  # type: ignore[arg-type]
    if conn.dialect.name == "sqlite":
        raw /= 10_000
    return raw.quantize(Decimal("0.0001"))


def _bucket(days_late: int) -> str:
    if days_late <= 30:
        return "0-30"
    if days_late <= 60:
        return "31-60"
    return "61-90" if days_late <= 90 else "90+"


def _independent(conn: Connection, team: int) -> dict[str, object]:
    """The report's key figures recomputed without any of the reports code."""
    args = {"team": team, "first": MONTH, "last": LAST}
    revenue, expenses, count = conn.execute(
        sa.text(
            "SELECT SUM(CASE WHEN base_amount > 0 THEN base_amount ELSE 0 END), "
            "SUM(CASE WHEN base_amount < 0 THEN -base_amount ELSE 0 END), COUNT(*) "
            "FROM transactions WHERE team_id = :team AND booking_date BETWEEN :first AND :last"
        ),
        args,
    ).one()
    categories = {
        name: _money(conn, total)
        for name, total in conn.execute(
            sa.text(
                "SELECT COALESCE(category, 'uncategorized'), SUM(-base_amount) FROM transactions "
                "WHERE team_id = :team AND booking_date BETWEEN :first AND :last "
                "AND base_amount < 0 GROUP BY 1"
            ),
            args,
        )
    }
    weekly: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for day, amount in conn.execute(
        sa.text(
            "SELECT booking_date, base_amount FROM transactions WHERE team_id = :team "
            "AND booking_date BETWEEN :first AND :last AND base_amount IS NOT NULL"
        ),
        args,
    ):
        day = day if isinstance(day, date) else date.fromisoformat(day)
        year, week, _ = day.isocalendar()
        value = _money(conn, amount)
        weekly[f"{year}-W{week:02d}"][0 if value > 0 else 1] += abs(value)
    # Owed at the month's end: issued by then, not void, not paid by then; at invoiced amounts.
    open_amount, overdue, buckets = Decimal(0), Decimal(0), defaultdict(Decimal)
    for amount, due, status, paid_date in conn.execute(
        sa.text(
            "SELECT amount, due_date, status, paid_date FROM invoices "
            "WHERE team_id = :team AND currency = 'USD' AND issue_date <= :last"
        ),
        args,
    ):
        due = due if isinstance(due, date) else date.fromisoformat(due)
        paid_date = paid_date if not isinstance(paid_date, str) else date.fromisoformat(paid_date)
        if status == "void" or (status == "paid" and paid_date <= LAST):
            continue
        owed = _money(conn, amount)
        open_amount += owed
        late = (LAST - due).days
        if late > 0:
            overdue += owed
            buckets[_bucket(late)] += owed
    return {
        "revenue": _money(conn, revenue),
        "expenses": _money(conn, expenses),
        "transactions": count,
        "categories": categories,
        "weekly": {k: tuple(v) for k, v in weekly.items()},
        "open_amount": open_amount,
        "overdue": overdue,
        "buckets": dict(buckets),
    }


def test_figures_equal_an_independent_recomputation(engine: sa.Engine) -> None:
    team, _ = seed_month(engine)
    with engine.connect() as conn:
        f = month_figures(conn, team, MONTH, NOW)
        expected = _independent(conn, team)

    assert f.current.revenue == expected["revenue"] == Decimal("3545.10")
    assert f.current.expenses == expected["expenses"] == Decimal("520.51")
    assert f.current.net == f.current.revenue - f.current.expenses
    assert f.current.transactions == expected["transactions"] == 9
    assert f.current.unconverted == 1
    assert {c.category: c.amount for c in f.categories} == expected["categories"]
    assert [c.category for c in f.categories] == ["uncategorized", "rent", "software"]
    # Weeks touching March, clipped to it: Sunday 1st (W09) to Tuesday 31st (W14).
    assert [(w.iso_week, w.first_day.day, w.last_day.day) for w in f.weeks] == [
        ("2026-W09", 1, 1),
        ("2026-W10", 2, 8),
        ("2026-W11", 9, 15),
        ("2026-W12", 16, 22),
        ("2026-W13", 23, 29),
        ("2026-W14", 30, 31),
    ]
    quiet = (Decimal(0), Decimal(0))
    assert {w.iso_week: (w.cash_in, w.cash_out) for w in f.weeks} == {
        w.iso_week: expected["weekly"].get(w.iso_week, quiet) for w in f.weeks
    }
    r = f.receivables
    assert r.open_amount == expected["open_amount"]
    assert r.overdue_amount == expected["overdue"]
    assert {b.label: b.amount for b in r.ageing if b.count} == expected["buckets"]
    assert f.cutoff == CUTOFF and f.generated_at == NOW


def test_comparison_months_without_data_are_none_not_zero(engine: sa.Engine) -> None:
    team, _ = seed_month(engine)
    with engine.connect() as conn:
        f = month_figures(conn, team, MONTH, NOW)
        april = month_figures(conn, team, date(2026, 4, 1), NOW + timedelta(days=30))
    prev = f.previous_month
    assert prev is not None
    assert (prev.revenue, prev.expenses, prev.net, prev.transactions) == (
        Decimal("400.00"),
        Decimal("777.00"),
        Decimal("-377.00"),
        2,
    )
    assert f.previous_year is None  # the other team's March 2025 is not ours
    assert april.previous_year is None and april.previous_month == replace(f.current, month=MONTH)


def test_ageing_buckets_at_their_edges(engine: sa.Engine) -> None:
    """Days past due at the month's last day: 30 and 31, 60 and 61, 90 and 91 fall apart;
    due on the last day is not overdue; paid after the month's end was still owed at it; paid
    within, void, issued later and other currencies are not. A partly paid invoice counts at its
    invoiced amount (its payment has no date), the payment so far is live status."""
    team, _ = seed_month(engine)
    with engine.connect() as conn:
        f = month_figures(conn, team, MONTH, NOW)
    r = f.receivables
    assert [(b.label, b.count, b.amount) for b in r.ageing] == [
        ("0-30", 3, Decimal("630.00")),  # 30 days, 200 partly paid, 400 paid in April
        ("31-60", 2, Decimal("91.00")),  # 31 and 60 days
        ("61-90", 2, Decimal("151.00")),  # 61 and 90 days
        ("90+", 1, Decimal("91.00")),  # 91 days
    ]
    assert (r.overdue_count, r.overdue_amount) == (8, Decimal("963.00"))
    assert (r.open_count, r.open_amount) == (10, Decimal("971.00"))  # + due today, not yet due
    assert r.other_currency == 1
    assert (f.live.part_paid_count, f.live.part_paid_amount) == (1, Decimal("50.00"))


def test_reconciliation_and_agents_count_the_local_month(engine: sa.Engine) -> None:
    """Instants count from local midnight (EST) to the next month's local midnight (EDT),
    the cut-off itself excluded; rows of another team never count."""
    team, _ = seed_month(engine)
    with engine.connect() as conn:
        f = month_figures(conn, team, MONTH, NOW)
        rows = conn.execute(
            sa.select(Match.status, Match.created_at, Match.updated_at).where(Match.team_id == team)
        ).all()
    start = datetime(2026, 3, 1, 5, tzinfo=UTC)

    def inside(t: datetime) -> bool:
        return start <= t < CUTOFF

    rec, live = f.reconciliation, f.live
    assert rec.automatic_links == sum(s == "auto" and inside(c) for s, c, _ in rows) == 2
    assert rec.confirmed == 1 and rec.declined == 1
    assert live.as_of == NOW and live.open_suggestions == 1
    assert [(u.kind, u.count, u.oldest_days) for u in live.unmatched] == [
        ("payment", 1, 100),
        ("receipt", 2, 45),
    ]
    assert [b.count for b in live.unmatched[1].by_age] == [1, 1, 0, 0]
    a = f.agents
    assert (a.model_calls, a.calls_without_cost) == (3, 1)
    assert a.cost_usd == Decimal("0.0150")  # the known part; the unknown call is not "free"
    assert (a.automatic_links, a.insights_delivered, a.reminders_sent) == (2, 1, 2)


def test_cost_unknown_stays_unknown(engine: sa.Engine) -> None:
    team = add_team(engine, "pricey")
    at = datetime(2026, 3, 10, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(LLMCall),
            [
                {
                    "agent": "a",
                    "team_id": team,
                    "model": "m",
                    "outcome": "ok",
                    "created_at": at,
                    "cost_usd": None,
                }
            ]
            * 2,
        )
    with engine.connect() as conn:
        a = month_figures(conn, team, MONTH, NOW).agents
        quiet = month_figures(conn, add_team(engine, "quiet"), MONTH, NOW).agents
    assert (a.model_calls, a.cost_usd, a.calls_without_cost) == (2, None, 2)
    assert (quiet.model_calls, quiet.cost_usd) == (0, Decimal(0))  # no calls: nothing spent


def test_a_month_not_ended_in_the_team_zone_is_refused(engine: sa.Engine) -> None:
    team, _ = seed_month(engine)
    with engine.connect() as conn, pytest.raises(ValueError, match="has not ended"):
        month_figures(conn, team, MONTH, CUTOFF - timedelta(seconds=1))


def test_digest_ignores_the_generation_instant_and_follows_the_data(engine: sa.Engine) -> None:
    team, _ = seed_month(engine)
    with engine.connect() as conn:
        first = month_figures(conn, team, MONTH, NOW)
        later = month_figures(conn, team, MONTH, NOW + timedelta(days=3))
    assert figures_digest(first) == figures_digest(later)
    with engine.begin() as conn:  # a late booking in the month
        conn.execute(
            sa.insert(Transaction).values(
                team_id=team,
                source="late",
                external_id="x",
                booking_date=date(2026, 3, 15),
                amount=Decimal("1.00"),
                currency="USD",
                base_amount=Decimal("1.00"),
            )
        )
        changed = month_figures(conn, team, MONTH, NOW)
    assert figures_digest(changed) != figures_digest(first)
