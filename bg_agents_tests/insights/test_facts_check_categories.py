"""The insights facts check counts a line under its effective category, as weekly metrics do:
the agent's category where the bank gave none, a person's (or learned) over the bank's. Before,
it rebuilt category figures from the bank's column alone and failed on every enriched week."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.enrichment.service import write_enrichments
from bg_agents.defs.insights.quality import insight_facts_match
from bg_agents.defs.insights.service import generate_slot
from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.lib.agents.backends import OfflineBackend
from bg_agents.lib.db.models import Insight
from bg_agents.lib.delivery_slots import slot_for
from bg_agents_tests.enrichment.test_service import DAY, T0, add_line, add_team

WEEK = DAY  # a Monday


def enriched(engine: Engine, tx_id: int, team_id: int, category: str, source: str) -> None:
    """What enrichment stored for the line."""
    with engine.begin() as conn:
        write_enrichments(
            conn,
            [{"transaction_id": tx_id, "team_id": team_id, "booking_date": WEEK,
              "merchant": "Zqxw", "merchant_key": "zqxw", "category": category,
              "confidence": 0.9, "source": source, "detail": "test", "enriched_at": T0}],
        )  # fmt: skip


def stored_sentences(engine: Engine) -> dict[str, str]:
    """The stored insight's facts: key -> sentence."""
    with engine.connect() as conn:
        facts = conn.scalar(sa.select(Insight.facts))
    return {fact["key"]: fact["sentence"] for fact in facts["facts"]}


def test_the_facts_check_passes_on_a_week_with_enriched_categories(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    plain = add_line(engine, acme, "ZQXW TRADING", WEEK, amount="-300.00")  # bank: none
    enriched(engine, plain, acme, "software", "rule")
    banked = add_line(engine, acme, "QQPLM HOLDINGS", WEEK, amount="-80.00", category="meals")
    enriched(engine, banked, acme, "travel", "learned")  # a correction over the bank's
    add_line(engine, acme, "VVRTX LOUNGE", WEEK - timedelta(days=7), amount="-40.00")
    add_line(engine, acme, "INVOICE 7", WEEK, amount="900.00")
    for monday in (WEEK - timedelta(weeks=1), WEEK):
        build_weekly_metrics(engine, monday)

    generate_slot(engine, WEEK, slot_for(WEEK, "UTC"), OfflineBackend())
    # The scenario reaches the check: the facts name the agent's and the learned category.
    sentences = stored_sentences(engine)
    assert "software" in sentences["top_category"]
    assert "travel" in sentences["mover.1"]
    with engine.connect() as conn:
        outcome = insight_facts_match(conn, WEEK, [acme])
    assert outcome.passed, outcome.description
    assert outcome.metadata["insights_checked"] == 1
