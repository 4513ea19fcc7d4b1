"""A person's correction (SQLite and PostgreSQL): the line becomes ``person``, the team's later
lines of the merchant follow (now and on every later run), earlier ones are offered unchanged,
and mistakes are refused with one clear message."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.enrichment.corrections import categorize
from bg_agents.defs.enrichment.service import enrich_days
from bg_agents.lib.agents.backends import OfflineBackend
from bg_agents.lib.db.models import MerchantCategory, TransactionEnrichment
from bg_agents_tests.enrichment.test_service import (
    DAY,
    T0,
    UNKNOWN,
    add_line,
    add_team,
    at,
    set_by_person,
    stored,
)

DAYS = [DAY + timedelta(days=i) for i in range(5)]


def enrich(engine: Engine, first=DAYS[0], last=DAYS[-1]):  # type: ignore[no-untyped-def]
    return enrich_days(engine, first, last, OfflineBackend(), now=at(T0))


def test_a_correction_teaches_later_lines_and_offers_earlier_ones(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    earlier = add_line(engine, acme, UNKNOWN, DAYS[0])
    same_as_bank = add_line(engine, acme, UNKNOWN, DAYS[0], category="software")
    corrected = add_line(engine, acme, UNKNOWN, DAYS[1])
    later = add_line(engine, acme, UNKNOWN, DAYS[2])
    decided_later = add_line(engine, acme, UNKNOWN, DAYS[3])
    other_merchant = add_line(engine, acme, "QQPLM HOLDINGS", DAYS[2])
    enrich(engine, DAYS[0], DAYS[3])
    set_by_person(engine, decided_later, "rent")
    before = stored(engine)

    result = categorize(engine, "acme", corrected, "software", decided_by="ann@acme.example")
    rows = stored(engine)
    assert (rows[corrected]["source"], rows[corrected]["category"]) == ("person", "software")
    assert rows[corrected]["confidence"] == 1.0
    assert result.previous == "uncategorized" and result.learned_since == DAYS[1]
    # The later line follows now; a person's own decision and other merchants do not move.
    assert result.followed == [later]
    assert (rows[later]["source"], rows[later]["category"]) == ("learned", "software")
    assert rows[decided_later] == before[decided_later]
    assert rows[other_merchant] == before[other_merchant]
    # The earlier line is offered, not changed; one the bank already files there is not offered.
    assert [(o.transaction_id, o.booking_date, o.category) for o in result.offered] == [
        (earlier, DAYS[0], "uncategorized")
    ]
    assert result.offered[0].description == UNKNOWN
    assert rows[earlier] == before[earlier] and rows[same_as_bank] == before[same_as_bank]

    # Lines booked later, enriched on their day's run, follow too; re-runs undo nothing.
    newest = add_line(engine, acme, UNKNOWN, DAYS[4])
    enrich(engine)
    after = stored(engine)
    assert (after[newest]["source"], after[newest]["category"]) == ("learned", "software")
    assert {t: after[t] for t in rows} == rows
    assert enrich(engine).written == 0


def test_a_second_correction_moves_what_follows_and_never_narrows_it(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    lines = [add_line(engine, acme, UNKNOWN, day) for day in DAYS[:4]]
    enrich(engine, DAYS[0], DAYS[3])
    categorize(engine, "acme", lines[1], "software")
    # A person says a later line is marketing after all: the learned ones move with it.
    result = categorize(engine, "acme", lines[3], "marketing")
    assert result.learned_since == DAYS[1] and result.followed == [lines[2]]
    rows = stored(engine)
    assert rows[lines[2]]["category"] == "marketing"
    assert rows[lines[1]]["category"] == "software"  # a person's decision stays
    assert [o.transaction_id for o in result.offered] == [lines[0]]
    with engine.connect() as conn:
        learned = conn.execute(sa.select(MerchantCategory.category)).scalars().all()
    assert learned == ["marketing"]  # one row per (team, merchant)
    assert enrich(engine, DAYS[0], DAYS[3]).written == 0


def test_a_line_without_a_merchant_changes_only_itself(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    blank, other = add_line(engine, acme, ""), add_line(engine, acme, "")
    enrich(engine, DAY, DAY)
    result = categorize(engine, "acme", blank, "bank_fees")
    assert result.merchant_key is None and result.learned_since is None
    assert result.followed == [] and result.offered == []
    rows = stored(engine)
    assert rows[blank]["category"] == "bank_fees" and rows[other]["category"] is None
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(MerchantCategory)).scalar() == 0


def test_mistakes_are_refused_with_a_clear_message_and_change_nothing(engine: Engine) -> None:
    acme, globex = add_team(engine, "acme"), add_team(engine, "globex")
    mine, theirs = add_line(engine, acme, UNKNOWN), add_line(engine, globex, UNKNOWN)
    enrich(engine, DAY, DAY)
    before = stored(engine)
    with pytest.raises(ValueError, match=r"unknown category 'crypto'; one of: income, payroll"):
        categorize(engine, "acme", mine, "crypto")
    with pytest.raises(ValueError, match="unknown team 'nobody'"):
        categorize(engine, "nobody", mine, "rent")
    with pytest.raises(
        ValueError, match=f"transaction {theirs} is not a transaction of team 'acme'"
    ):
        categorize(engine, "acme", theirs, "rent")
    with pytest.raises(ValueError, match="transaction 999999 is not a transaction of team 'acme'"):
        categorize(engine, "acme", 999_999, "rent")
    assert stored(engine) == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(MerchantCategory)).scalar() == 0
        sources = conn.execute(sa.select(TransactionEnrichment.source)).scalars().all()
    assert sources == ["none", "none"]
