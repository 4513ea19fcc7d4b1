"""``enrich_days`` on SQLite and PostgreSQL: who decides each line, what a re-run writes (nothing),
people's rows left alone, learned corrections by day, and the model through a scripted server.

Descriptors are made-up merchants no rule set knows (``ZQXW ...``), so these tests hold whatever
merchants the rules learn; one case uses a merchant the curated list knows.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs.enrichment.corrections import categorize
from bg_agents.defs.enrichment.rules import recognize
from bg_agents.defs.enrichment.service import enrich_days, write_enrichments
from bg_agents.defs.enrichment.taxonomy import CATEGORIES, SOURCES
from bg_agents.lib.agents.backends import OfflineBackend, OpenAIBackend
from bg_agents.lib.db.models import (
    DescriptorCategory,
    MerchantCategory,
    Team,
    Transaction,
    TransactionEnrichment,
)
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat, reply

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
UNKNOWN = "ZQXW TRADING 4471 SPRINGFIELD"  # no rule set knows it
_ids = itertools.count(1)


def add_team(engine: Engine, slug: str) -> int:
    with Session(engine) as session, session.begin():
        team = Team(slug=slug, name=slug.title(), time_zone="UTC", base_currency="EUR")
        session.add(team)
        session.flush()
        return team.id


def add_line(
    engine: Engine,
    team_id: int,
    description: str,
    day: date = DAY,
    amount: str = "-12.50",
    category: str | None = None,
) -> int:
    """One booked bank line (the bank's own ``category`` optional)."""
    with Session(engine) as session, session.begin():
        tx = Transaction(
            team_id=team_id, source="bank", external_id=f"t-{next(_ids)}", booking_date=day,
            amount=Decimal(amount), currency="EUR", base_amount=Decimal(amount),
            description=description, category=category,
        )  # fmt: skip
        session.add(tx)
        session.flush()
        return tx.id


def stored(engine: Engine) -> dict[int, dict[str, Any]]:
    """Every enrichment row by transaction, ids and timestamps included."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(TransactionEnrichment)).mappings().all()
    return {r["transaction_id"]: dict(r) for r in rows}


def set_by_person(engine: Engine, tx_id: int, category: str) -> None:
    """A person's row for the line, with the merchant the rules read in it."""
    with engine.begin() as conn:
        team_id, day, text = conn.execute(
            sa.select(Transaction.team_id, Transaction.booking_date, Transaction.description).where(
                Transaction.id == tx_id
            )
        ).one()
        rec = recognize(text)
        write_enrichments(
            conn,
            [{"transaction_id": tx_id, "team_id": team_id, "booking_date": day,
              "merchant": rec.merchant, "merchant_key": rec.merchant_key, "category": category,
              "confidence": 1.0, "source": "person", "detail": "ann", "enriched_at": T0}],
            over_person=True,
        )  # fmt: skip


def at(instant: datetime):  # type: ignore[no-untyped-def]
    return lambda: instant


def test_every_line_gets_one_row_and_a_rerun_writes_nothing(engine: Engine) -> None:
    acme, globex = add_team(engine, "acme"), add_team(engine, "globex")
    lines = [
        add_line(engine, acme, UNKNOWN),
        add_line(engine, acme, "ZQXW TRADING 4471 SPRINGFIELD", DAY + timedelta(days=1)),
        add_line(engine, globex, "QQPLM HOLDINGS", DAY + timedelta(days=1), amount="300.00"),
        add_line(engine, globex, "", DAY + timedelta(days=2)),
    ]
    first = enrich_days(engine, DAY, DAY + timedelta(days=2), OfflineBackend(), now=at(T0))
    rows = stored(engine)
    assert sorted(rows) == sorted(lines)
    assert first.written == 4 and first.unchanged == 0 and first.changed
    assert all(r["source"] in SOURCES for r in rows.values())
    assert {r["enriched_at"].replace(tzinfo=UTC) for r in rows.values()} == {T0}
    # Nothing knew the merchant: no category, but the merchant is still recorded.
    unknown = rows[lines[0]]
    assert (unknown["source"], unknown["category"], unknown["confidence"]) == ("none", None, 0.0)
    expected = recognize(UNKNOWN)
    assert unknown["merchant"] == expected.merchant and unknown["merchant"]
    assert unknown["merchant_key"] == expected.merchant_key
    assert rows[lines[1]]["merchant_key"] == unknown["merchant_key"]  # same merchant, same key
    assert [sum(first.days[DAY + timedelta(days=i)].values()) for i in range(3)] == [1, 2, 1]
    assert all(set(by_source) == set(SOURCES) for by_source in first.days.values())

    again = enrich_days(
        engine, DAY, DAY + timedelta(days=2), OfflineBackend(), now=at(T0 + timedelta(hours=5))
    )
    assert stored(engine) == rows  # same ids, values and enriched_at
    assert (again.written, again.unchanged, again.changed) == (0, 4, False)
    assert again.days == first.days


def test_a_person_row_is_never_overwritten(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    mine, other = add_line(engine, acme, UNKNOWN), add_line(engine, acme, "QQPLM HOLDINGS")
    set_by_person(engine, mine, "rent")
    before = stored(engine)[mine]
    report = enrich_days(engine, DAY, DAY, OfflineBackend(), now=at(T0 + timedelta(days=1)))
    rows = stored(engine)
    assert rows[mine] == before
    assert rows[other]["source"] == "none"
    assert report.kept == 1 and report.days[DAY]["person"] == 1 and report.days[DAY]["none"] == 1

    # Even a write racing a correction (read before it, written after) leaves the person's row.
    with engine.begin() as conn:
        written = write_enrichments(
            conn,
            [{**{k: v for k, v in before.items() if k != "id"}, "category": None,
              "source": "none", "detail": None, "enriched_at": T0 + timedelta(days=2)}],
        )  # fmt: skip
    assert written == 0 and stored(engine)[mine] == before


def test_a_learned_correction_applies_from_the_corrected_day_and_only_to_its_team(
    engine: Engine,
) -> None:
    acme, globex = add_team(engine, "acme"), add_team(engine, "globex")
    days = [DAY + timedelta(days=i) for i in range(3)]
    acme_lines = [add_line(engine, acme, UNKNOWN, day) for day in days]
    globex_line = add_line(engine, globex, UNKNOWN, days[2])
    key = recognize(UNKNOWN).merchant_key
    with engine.begin() as conn:
        conn.execute(
            sa.insert(MerchantCategory).values(
                team_id=acme, merchant_key=key, category="marketing",
                transaction_id=acme_lines[1], decided_at=T0,
            )
        )  # fmt: skip
    report = enrich_days(engine, days[0], days[2], OfflineBackend(), now=at(T0))
    rows = stored(engine)
    assert [rows[t]["source"] for t in acme_lines] == ["none", "learned", "learned"]
    assert [rows[t]["category"] for t in acme_lines] == [None, "marketing", "marketing"]
    assert rows[acme_lines[2]]["confidence"] == 1.0
    assert rows[globex_line]["source"] == "none"  # another team learned nothing
    assert report.days[days[2]]["learned"] == 1 and report.days[days[2]]["none"] == 1


def test_a_rule_known_merchant_is_categorized_by_rule(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    tx = add_line(engine, acme, "STARBUCKS STORE 1234")
    enrich_days(engine, DAY, DAY, OfflineBackend(), now=at(T0))
    row = stored(engine)[tx]
    assert row["source"] == "rule" and row["category"] in CATEGORIES and row["confidence"] > 0


def test_a_run_overlapping_a_correction_leaves_what_the_correction_wrote(engine: Engine) -> None:
    """SIMULATED interleaving: the run reads the day, a person's correction commits (its merchant's
    later lines become ``learned``), then the run writes. Rows changed since the run read them
    are left as the correction made them; rows still as read are replaced."""
    acme, globex = add_team(engine, "acme"), add_team(engine, "globex")
    corrected = add_line(engine, acme, UNKNOWN, DAY)
    later = add_line(engine, acme, UNKNOWN, DAY + timedelta(days=1))
    bystander = add_line(engine, globex, UNKNOWN, DAY + timedelta(days=1))
    enrich_days(engine, DAY, DAY + timedelta(days=1), OfflineBackend(), now=at(T0))
    assert {stored(engine)[t]["source"] for t in (later, bystander)} == {"none"}
    # The model's answer arrives in the shared cache: the next run decides "model" for both.
    with engine.begin() as conn:
        conn.execute(
            sa.insert(DescriptorCategory).values(
                descriptor_key=recognize(UNKNOWN).descriptor_key, merchant="Zqxw Trading",
                category="software", confidence=0.9, model="stub-model-1",
            )
        )  # fmt: skip

    def correction_commits_meanwhile() -> datetime:
        """The run's clock is read after it read the day and before it writes."""
        categorize(engine, "acme", corrected, "rent", "ann", now=at(T0 + timedelta(1)))
        return T0 + timedelta(days=2)

    report = enrich_days(
        engine, DAY + timedelta(days=1), DAY + timedelta(days=1), OfflineBackend(),
        now=correction_commits_meanwhile,
    )  # fmt: skip
    rows = stored(engine)
    assert (rows[later]["source"], rows[later]["category"]) == ("learned", "rent")
    assert (rows[bystander]["source"], rows[bystander]["category"]) == ("model", "software")
    assert report.written == 1
    # The next run decides the line again, now knowing the correction: nothing to write.
    again = enrich_days(
        engine, DAY + timedelta(days=1), DAY + timedelta(days=1), OfflineBackend(),
        now=at(T0 + timedelta(days=3)),
    )  # fmt: skip
    assert again.written == 0 and stored(engine) == rows


def _descriptors(body: dict[str, Any]) -> list[str]:
    """The descriptors the model was asked about (the prompt's data block)."""
    text = body["messages"][-1]["content"]
    block = re.search(r'<data name="descriptors">\n(.*)\n</data>', text, re.S)
    assert block, text
    return json.loads(block.group(1))


def scripted_model(answers: dict[str, tuple[str | None, str, float]]):  # type: ignore[no-untyped-def]
    """A model answering each descriptor it is asked about from ``answers`` (by a word in it):
    (merchant, category, confidence)."""

    def answer(body: dict[str, Any]):  # type: ignore[no-untyped-def]
        items = []
        for key in _descriptors(body):
            merchant, category, confidence = next(
                (v for word, v in answers.items() if word in key), (None, "unknown", 0.0)
            )
            items.append({"descriptor": key, "merchant": merchant, "category": category,
                          "confidence": confidence})  # fmt: skip
        return reply(json.dumps({"answers": items}), model="stub-model-1")

    return answer


def test_the_model_decides_what_rules_do_not_know_and_its_answers_are_cached(
    engine: Engine,
) -> None:
    acme, globex = add_team(engine, "acme"), add_team(engine, "globex")
    known = add_line(engine, acme, "ZQXW TRADING 4471 SPRINGFIELD")
    again = add_line(engine, globex, "ZQXW TRADING 4471 SPRINGFIELD", DAY + timedelta(days=1))
    unsure = add_line(engine, acme, "QQPLM HOLDINGS")
    outside = add_line(engine, acme, "VVRTX LOUNGE")
    model = scripted_model({
        "zqxw": ("Zqxw Trading", "software", 0.92),
        "qqplm": ("Qqplm", "rent", 0.4),  # below the gate
        "vvrtx": ("Vvrtx", "crypto", 0.99),  # outside the taxonomy
    })  # fmt: skip
    with ScriptedOpenAI(repeat(model)) as server:
        backend = OpenAIBackend(api_key="test", base_url=server.base_url)
        first = enrich_days(engine, DAY, DAY + timedelta(days=1), backend, now=at(T0))
        asked = [d for r in server.requests for d in _descriptors(r.body)]
        rows = stored(engine)
        assert server.requests, "the model was never asked"
        second = enrich_days(engine, DAY, DAY + timedelta(days=1), backend, now=at(T0))
        assert len(server.requests) == first.model_calls  # no new request
    # Only normalized descriptors were sent, each once: never an amount or a team.
    assert len(asked) == len(set(asked)) == 3
    assert not any("12.5" in d or "acme" in d or "4471" in d for d in asked)
    row = rows[known]
    assert (row["source"], row["category"], row["merchant"]) == (
        "model",
        "software",
        "Zqxw Trading",
    )
    assert row["confidence"] == pytest.approx(0.92) and row["detail"] == "stub-model-1"
    assert rows[again]["source"] == "model"  # the second day's line: the cache, no new call
    assert rows[unsure]["source"] == "none" and rows[unsure]["category"] is None
    assert rows[outside]["source"] == "none" and rows[outside]["category"] is None
    assert first.model_calls == 1 and first.refused == 2 and first.cache_hits == 1
    # The re-run asks nothing (every answer cached) and writes nothing.
    assert (second.model_calls, second.written, second.cache_hits) == (0, 0, 4)
    assert stored(engine) == rows


def test_offline_uses_cached_answers_and_asks_nothing(engine: Engine) -> None:
    acme = add_team(engine, "acme")
    tx = add_line(engine, acme, UNKNOWN)
    with ScriptedOpenAI(repeat(scripted_model({"zqxw": ("Zqxw", "software", 0.9)}))) as server:
        enrich_days(engine, DAY, DAY, OpenAIBackend(api_key="t", base_url=server.base_url))
    later = add_line(engine, acme, UNKNOWN, DAY + timedelta(days=1))
    report = enrich_days(engine, DAY + timedelta(days=1), DAY + timedelta(days=1), OfflineBackend())
    rows = stored(engine)
    assert rows[later]["source"] == rows[tx]["source"] == "model"
    assert (report.model_calls, report.cache_hits) == (0, 1)


def test_a_day_without_transactions_reports_zero_rows(engine: Engine) -> None:
    report = enrich_days(engine, DAY, DAY, None)
    assert report.days == {DAY: dict.fromkeys(SOURCES, 0)} and not report.changed
    with pytest.raises(ValueError, match="before"):
        enrich_days(engine, DAY, DAY - timedelta(days=1), None)
