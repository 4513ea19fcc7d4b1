"""Weekly metrics and month-end figures count a line under its effective category (SQLite and
PostgreSQL): the agent's where the bank gave none, the bank's over the agent's, and a person's
(or learned) correction over both."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.enrichment.corrections import categorize
from bg_agents.defs.enrichment.rules import recognize
from bg_agents.defs.enrichment.service import write_enrichments
from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.defs.reports.figures import month_figures
from bg_agents.lib.db.models import Transaction, WeeklyCategoryMetric
from bg_agents_tests.enrichment.test_service import DAY, T0, add_line, add_team, set_by_person

MONDAY = DAY  # 2026-03-02


def agent_says(engine: Engine, tx_id: int, team_id: int, category: str, source: str) -> None:
    """What a run stored for the line (rules or model), whatever the rules know today."""
    with engine.begin() as conn:
        text = conn.scalar(sa.select(Transaction.description).where(Transaction.id == tx_id))
        key = recognize(text).merchant_key
        write_enrichments(
            conn,
            [{"transaction_id": tx_id, "team_id": team_id, "booking_date": DAY,
              "merchant": "Zqxw", "merchant_key": key, "category": category,
              "confidence": 0.9, "source": source, "detail": "test", "enriched_at": T0}],
        )  # fmt: skip


def week_categories(engine: Engine, team_id: int) -> dict[str, tuple[str, int]]:
    build_weekly_metrics(engine, MONDAY)
    wcm = WeeklyCategoryMetric
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(wcm.category, wcm.expenses, wcm.transaction_count).where(
                wcm.team_id == team_id, wcm.week_start == MONDAY
            )
        ).all()
    return {category: (f"{expenses:.2f}", n) for category, expenses, n in rows}


def test_metrics_count_the_agents_category_where_the_bank_gave_none(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    by_model = add_line(engine, acme, "ZQXW TRADING", amount="-10.00")
    by_rule = add_line(engine, acme, "VVRTX LOUNGE", amount="-20.00")
    bank_wins = add_line(engine, acme, "QQPLM HOLDINGS", amount="-40.00", category="travel")
    person_wins = add_line(engine, acme, "BRRZK PARTNERS", amount="-80.00", category="travel")
    add_line(engine, acme, "FLUMQ SUPPLY", amount="-160.00")  # never enriched
    agent_says(engine, by_model, acme, "software", "model")
    agent_says(engine, by_rule, acme, "software", "rule")
    agent_says(engine, bank_wins, acme, "meals", "model")
    set_by_person(engine, person_wins, "meals")

    assert week_categories(engine, acme) == {
        "software": ("30.00", 2),
        "travel": ("40.00", 1),
        "meals": ("80.00", 1),
        "uncategorized": ("160.00", 1),
    }
    # A person moves the model's line: the week follows on its next computation.
    categorize(engine, "acme", by_model, "marketing")
    assert week_categories(engine, acme) == {
        "software": ("20.00", 1),
        "marketing": ("10.00", 1),
        "travel": ("40.00", 1),
        "meals": ("80.00", 1),
        "uncategorized": ("160.00", 1),
    }

    # The month-end report's expenses by category use the same expression.
    with engine.connect() as conn:
        figures = month_figures(conn, acme, date(2026, 3, 1), datetime(2026, 4, 2, tzinfo=UTC))
    assert {c.category: (f"{c.amount:.2f}", c.transactions) for c in figures.categories} == {
        "software": ("20.00", 1),
        "marketing": ("10.00", 1),
        "travel": ("40.00", 1),
        "meals": ("80.00", 1),
        "uncategorized": ("160.00", 1),
    }
