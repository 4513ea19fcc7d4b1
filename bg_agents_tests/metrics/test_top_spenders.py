"""top_spenders ranks teams only against others in the same currency (no rate is stored, so
3.8 billion IRR is not a bigger spend than 50,000 EUR) and shows amounts a person can read."""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.metrics.assets import _money
from bg_agents.defs.metrics.service import top_spenders
from bg_agents.lib.db.models import Team, WeeklyMetric

WEEK = date(2026, 3, 2)
ZERO = Decimal(0)


def _team(conn, slug: str, currency: str, expenses: str) -> None:  # type: ignore[no-untyped-def]
    team_id = conn.execute(
        sa.insert(Team).values(slug=slug, name=slug, time_zone="UTC", base_currency=currency)
    ).inserted_primary_key[0]
    conn.execute(
        sa.insert(WeeklyMetric).values(
            team_id=team_id, week_start=WEEK, currency=currency, revenue=ZERO,
            expenses=Decimal(expenses), net=-Decimal(expenses), transaction_count=3,
            income_count=0, expense_count=3, prev_revenue=ZERO, prev_expenses=ZERO, prev_net=ZERO,
        )
    )  # fmt: skip


def test_spenders_are_ranked_within_their_currency(engine: Engine) -> None:
    with engine.begin() as conn:
        _team(conn, "tehran", "IRR", "3847456000.0000")
        _team(conn, "berlin", "EUR", "40000.5000")
        _team(conn, "paris", "EUR", "50000.0000")
        _team(conn, "lyon", "EUR", "100.0000")
        _team(conn, "nice", "EUR", "10.0000")  # fourth in EUR: left out
    with engine.connect() as conn:
        rows = [(r.currency, r.rank, r.slug) for r in top_spenders(conn, WEEK)]
    assert rows == [
        ("EUR", 1, "paris"), ("EUR", 2, "berlin"), ("EUR", 3, "lyon"), ("IRR", 1, "tehran"),
    ]  # fmt: skip


def test_amounts_are_grouped_in_the_currencys_minor_units() -> None:
    assert _money(Decimal("3847456000.0000"), "IRR") == "IRR 3,847,456,000"
    assert _money(Decimal("40000.5000"), "EUR") == "EUR 40,000.50"
    assert _money(Decimal("-12.3450"), "BHD") == "-BHD 12.345"
