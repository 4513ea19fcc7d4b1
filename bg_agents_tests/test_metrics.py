"""Weekly metrics: the vectorized computation and the stored rows agree with the raw data."""

from datetime import date
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bg_agents.db.models import Team, Transaction, WeeklyCategoryMetric, WeeklyMetric
from bg_agents.domain.metrics import AGG_COLUMNS, change_pct, weekly_team_metrics
from bg_agents.services.metrics import build_weekly_metrics

MONDAY = date(2026, 3, 2)


def test_change_pct_uses_absolute_previous_and_is_undefined_from_zero() -> None:
    cur = pd.Series([150, -50, 10, 0])
    prev = pd.Series([100, -100, 0, 0])
    out = change_pct(cur, prev)
    assert out[0] == 50.0
    assert out[1] == 50.0  # a smaller loss is an improvement, not a 50 % fall
    assert out[2:].isna().all()


def test_silent_team_gets_a_zero_row() -> None:
    agg = pd.DataFrame([(1, "food", 0, 500, 0, 1, 0, 0, 0)], columns=AGG_COLUMNS)
    teams = pd.DataFrame({"team_id": [1, 2], "currency": ["USD", "EUR"]})
    out = weekly_team_metrics(agg, teams).set_index("team_id")
    assert out.loc[2, "transaction_count"] == 0 and out.loc[2, "currency"] == "EUR"
    assert out.loc[1, "expenses"] == 500 and out.loc[1, "net"] == -500


def _add(
    conn, team: int, day: date, amount: str, category: str | None, base: str | None = "="
) -> None:  # type: ignore[no-untyped-def]
    n = conn.execute(sa.select(sa.func.count()).select_from(Transaction)).scalar_one()
    conn.execute(
        sa.insert(Transaction),
        {
            "team_id": team,
            "source": "t",
            "external_id": str(n),
            "booking_date": day,
            "amount": Decimal(amount),
            "currency": "USD",
            "base_amount": Decimal(amount) if base == "=" else base,
            "description": "",
            "category": category,
        },
    )


def test_stored_week_matches_hand_computed_totals(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            [
                {"slug": "a", "name": "A", "time_zone": "UTC", "base_currency": "USD"},
                {"slug": "b", "name": "B", "time_zone": "UTC", "base_currency": "USD"},
            ],
        )
        a = conn.execute(sa.select(Team.id).where(Team.slug == "a")).scalar_one()
        _add(conn, a, date(2026, 2, 24), "-100.00", "travel")  # previous week
        _add(conn, a, date(2026, 3, 2), "-150.10", "travel")
        _add(conn, a, date(2026, 3, 8), "-0.05", None)  # Sunday, still this week
        _add(conn, a, date(2026, 3, 9), "-999.00", "travel")  # next week: excluded
        _add(conn, a, date(2026, 3, 4), "1000.00", "sales")
        _add(conn, a, date(2026, 3, 4), "-30.00", "travel", base=None)  # unconverted
    build_weekly_metrics(engine, MONDAY)
    build_weekly_metrics(engine, MONDAY)  # a second run overwrites, never duplicates
    with Session(engine) as session:
        rows = session.scalars(sa.select(WeeklyMetric).order_by(WeeklyMetric.team_id)).all()
        cats = {
            r.category: r
            for r in session.scalars(
                sa.select(WeeklyCategoryMetric).where(WeeklyCategoryMetric.team_id == a)
            )
        }
    assert len(rows) == 2
    m = rows[0]
    assert (m.revenue, m.expenses, m.net) == (
        Decimal("1000.0000"),
        Decimal("150.1500"),
        Decimal("849.8500"),
    )
    assert (m.transaction_count, m.unconverted_count, m.prev_expenses) == (4, 1, Decimal("100"))
    assert m.expenses_change_pct == 50.15
    assert cats["travel"].expenses == Decimal("150.10")
    assert cats["uncategorized"].expenses == Decimal("0.05")
    assert rows[1].transaction_count == 0
