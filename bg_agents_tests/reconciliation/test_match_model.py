"""The learned matcher's model as an asset: stored by digest, read by matching, not fitted in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents import inprocess
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.reconciliation import model_store
from bg_agents.defs.reconciliation.matcher import profile
from bg_agents.defs.reconciliation.matcher.learned import check_learned
from bg_agents.defs.reconciliation.matcher.rules import check_pair
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.defs.reconciliation.tools import (
    LearnedGuard,
    load_record,
    load_transaction,
    matching_tools,
)
from bg_agents.lib.db import migrate
from bg_agents.lib.db.models import Match, MatchModel
from bg_agents_tests.helpers import WORLD_END, metadata, seed
from bg_agents_tests.reconciliation.test_matching_tools import (
    add_document,
    add_invoice,
    add_transaction,
    call,
)
from bg_agents_tests.reconciliation.test_reconcile import ingest_and_snapshot
from bg_agents_tests.test_rerun_noop import forget_matching, pairs

START = WORLD_END - timedelta(days=13)  # two weeks of SIMULATED data
LAST_WEEK = [WORLD_END - timedelta(days=d) for d in range(6, -1, -1)]
CLOCK = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)


def at(instant: datetime):  # type: ignore[no-untyped-def]
    return lambda: instant


@pytest.fixture
def week(engine: Engine) -> Engine:
    """Three SIMULATED teams, two ingested and snapshotted weeks."""
    seed(engine, teams=3, weeks=2)
    ingest_and_snapshot(engine, START, WORLD_END)
    return engine


def stored(engine: Engine) -> list[tuple[str, int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(MatchModel.digest, MatchModel.records, MatchModel.labels).order_by(
                MatchModel.id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_migration_0005_adds_and_removes_match_models(engine: Engine) -> None:
    columns = {c["name"] for c in sa.inspect(engine).get_columns("match_models")}
    assert columns == {"id", "digest", "parameters", "trained_at", "pairs", "records", "labels"}
    uniques = sa.inspect(engine).get_unique_constraints("match_models")
    assert [u["column_names"] for u in uniques] == [["digest"]]
    migrate.downgrade(engine, "0004")
    assert "match_models" not in sa.inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert "match_models" in sa.inspect(engine).get_table_names()


def test_training_twice_on_the_same_data_stores_one_model(week: Engine) -> None:
    first = model_store.train(week)
    saved = model_store.save(week, first, at(CLOCK))
    again = model_store.save(week, model_store.train(week), at(CLOCK + timedelta(days=7)))
    assert saved.new and not again.new and again.digest == saved.digest
    assert len(saved.digest) == 64
    ((digest, records, labels),) = stored(week)
    assert digest == saved.digest and records == first.trained_on["records"] > 0 and labels == 0
    latest = model_store.latest_stored(week)
    assert latest is not None and latest.trained_at == CLOCK  # the first row, untouched
    assert latest.model.as_dict() == first.as_dict()


def test_people_decisions_move_the_stored_model(week: Engine) -> None:
    # A pair a person will confirm, and (below) a matcher suggestion a person declines.
    doc = add_document(week, 1, "310.00", "Quokka Logistics")
    tx = add_transaction(week, 1, "-310.00", "QUOKKA LOGISTICS", reference="ORDER 4711")
    before = model_store.save(week, model_store.train(week), at(CLOCK))
    matching = model_store.matching_for(week)
    reconcile(week, START, WORLD_END, config=matching.config, model=matching.model)
    key = {"team_id": 1, "record_kind": "document", "record_id": doc, "transaction_id": tx}
    with Session(week) as session, session.begin():
        confirmed = session.scalars(sa.select(Match).filter_by(**key)).one_or_none()
        if confirmed is None:
            confirmed = Match(**key, decision="suggestion", score=1.0, explanation="")
            session.add(confirmed)
        confirmed.status = "confirmed"
        other = session.scalars(
            sa.select(Match)
            .where(Match.decision == "suggestion", Match.record_id != doc)
            .order_by(Match.id)
            .limit(1)
        ).one()
        other.status = "declined"
    relearned = model_store.train(week)
    assert relearned.trained_on["labels"] == 2 and relearned.trained_on["confirmed"] == 1
    trained = model_store.latest(week)
    assert trained is not None
    moved = [
        (new["m"], old["m"])
        for new, old in zip(relearned.weight_table(), trained.weight_table(), strict=True)
    ]
    assert any(new != old for new, old in moved)  # the confirmed pair's levels gained mass
    after = model_store.save(week, relearned, at(CLOCK + timedelta(days=7)))
    assert after.new and after.digest != before.digest
    assert [d for d, _, _ in stored(week)] == [before.digest, after.digest]
    assert model_store.matching_for(week).digest == after.digest

    # A decision undone brings back the earlier parameters: that model is the latest again.
    with Session(week) as session, session.begin():
        session.execute(
            sa.update(Match)
            .where(Match.status.in_(("confirmed", "declined")))
            .values(status="pending")
        )  # the pairs are suggestions again: the data is what ``before`` was trained on
    undone = model_store.save(week, model_store.train(week), at(CLOCK + timedelta(days=14)))
    assert not undone.new and undone.digest == before.digest
    assert model_store.matching_for(week).digest == before.digest


def test_decisions_on_bank_rows_without_identifiers_relearn_too(week: Engine) -> None:
    doc = add_document(week, 1, "19.90", "Blue Bottle Coffee")
    tx = add_transaction(week, 1, "-19.90", "BLUE BOTTLE COFFEE", description="CARD PURCHASE")
    with Session(week) as session, session.begin():
        session.add(
            Match(
                team_id=1, record_kind="document", record_id=doc, transaction_id=tx,
                decision="link", status="confirmed", score=1.0, explanation="",
            )
        )  # fmt: skip
    assert model_store.train(week).trained_on["confirmed"] == 1


def materialize(db_url: str, names: list[str], instance, **kw):  # type: ignore[no-untyped-def]
    return inprocess.materialize(names, instance=instance, app_db=AppDatabase(url=db_url), **kw)


def explanations(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(Match.explanation)))


def test_record_matches_decides_with_the_stored_model(db_url: str, week: Engine) -> None:
    instance = dg.DagsterInstance.ephemeral()
    trained = metadata(materialize(db_url, ["match_model"], instance), "match_model")
    assert trained["new"] is True and trained["trained_on/records"] > 0
    assert "| comparison | level | m | u | weight |" in trained["parameters"]
    assert "amount:" in trained["match_weights"]
    again = metadata(materialize(db_url, ["match_model"], instance), "match_model")
    assert again["digest"] == trained["digest"] and again["new"] is False

    key = (WORLD_END - timedelta(days=2)).isoformat()
    found = metadata(
        materialize(db_url, ["record_matches"], instance, partition_key=key), "record_matches"
    )
    assert (found["profile"], found["engine"]) == ("learned", "learned")
    assert found["model"] == trained["digest"] and "fallback" not in found
    assert found["auto_links"] > 0 and found["run/simulated_precision"] >= 0.99
    with week.connect() as conn:
        links = list(conn.scalars(sa.select(Match.explanation).where(Match.decision == "link")))
    assert links and all(t.startswith("match probability") for t in links)


def test_without_a_stored_model_record_matches_uses_the_seed_rules(
    db_url: str, week: Engine
) -> None:
    key = (WORLD_END - timedelta(days=2)).isoformat()
    instance = dg.DagsterInstance.ephemeral()
    found = metadata(
        materialize(db_url, ["record_matches"], instance, partition_key=key), "record_matches"
    )
    assert (found["profile"], found["engine"], found["model"]) == ("seed", "rules", "none")
    assert "no match model is stored yet" in found["fallback"]
    texts = explanations(week)
    assert texts and not any("match probability" in t for t in texts)
    assert any(t.startswith("score ") for t in texts)


def test_the_learned_answer_does_not_depend_on_how_days_are_grouped(week: Engine) -> None:
    model_store.save(week, model_store.train(week), at(CLOCK))
    matching = model_store.matching_for(week)
    assert matching.config.engine == "learned" and matching.model is not None
    groupings = {
        "one 7-day run": [(LAST_WEEK[0], WORLD_END)],
        "seven 1-day runs": [(d, d) for d in LAST_WEEK],
        "seven 1-day runs, backwards": [(d, d) for d in reversed(LAST_WEEK)],
    }
    found = {}
    for name, runs in groupings.items():
        forget_matching(week)
        for start, end in runs:
            reconcile(week, start, end, config=matching.config, model=matching.model)
        found[name] = pairs(week)
    links = {p for p in found["one 7-day run"] if p[3] == "link"}
    assert len(links) > 5 and len(found["one 7-day run"]) > len(links)  # and suggestions
    assert all(p[6].startswith("match probability") for p in links)
    for name, got in found.items():
        assert got == found["one 7-day run"], name


def test_reconcile_refuses_to_fit_a_learned_model_inside_a_run(week: Engine) -> None:
    with pytest.raises(ValueError, match="stored model"):
        reconcile(week, START, WORLD_END, config=profile("learned"))


# --- match_record under the learned engine ------------------------------------------------------


@pytest.fixture
def guard(week: Engine) -> LearnedGuard:
    return LearnedGuard(model_store.train(week), profile("learned"))


def sides(engine: Engine, record_id: str, candidate_id: str):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        record = load_record(session, 1, record_id)[2]
        candidate = load_transaction(session, 1, candidate_id)[1]
    return record, candidate


def test_match_record_refuses_what_the_learned_guard_refuses(
    week: Engine, guard: LearnedGuard
) -> None:
    doc = f"doc-{add_document(week, 1, '100.00', 'Blue Bottle Coffee')}"
    tx = add_transaction(
        week, 1, "-103.17", "ACME HARDWARE", booking_date=START + timedelta(days=6),
        reference="ORDER 4711",
    )  # fmt: skip
    record, candidate = sides(week, doc, f"tx-{tx}")
    # The learned profile's rules alone would let it through; the evidence does not.
    assert check_pair(record, candidate, guard.config.rules).ok
    verdict = check_learned(record, candidate, guard.model, guard.config)
    assert not verdict.ok and verdict.score < 0

    tools = matching_tools(week, 1, learned=guard)
    out, ok = call(tools, "match_record", record_id=doc, candidate_id=f"tx-{tx}", confidence=1)
    assert not ok and "the evidence is against this pair" in out["error"]
    assert f"evidence weight {verdict.score:+.2f}" in out["error"]
    with week.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Match)) == 0
    described = next(t for t in tools if t.name == "match_record").description
    assert "evidence learned from this data" in described and "within 15 %" in described


def test_match_record_under_the_learned_engine_links_what_the_guard_accepts(
    week: Engine, guard: LearnedGuard
) -> None:
    doc = f"doc-{add_document(week, 1, '4242.50', 'Zanzibar Roasters Ltd')}"
    tx_id = add_transaction(week, 1, "-4242.50", "SQ *ZANZIBAR ROASTERS", reference="ORDER 4711")
    tx = f"tx-{tx_id}"
    verdict = check_learned(*sides(week, doc, tx), guard.model, guard.config)
    assert verdict.ok
    out, ok = call(
        matching_tools(week, 1, learned=guard), "match_record", record_id=doc,
        candidate_id=tx, confidence=0.9,
    )  # fmt: skip
    assert ok and out["linked"] is True
    assert 0.5 < out["score"] <= 1 and out["explanation"] == verdict.explanation()
    with Session(week) as session:
        (link,) = session.scalars(sa.select(Match)).all()
    assert (link.decision, link.status, link.score) == ("link", "auto", out["score"])
    assert link.matched_amount == Decimal("4242.50")


def test_the_learned_guard_keeps_the_other_refusals(week: Engine, guard: LearnedGuard) -> None:
    invoice = f"inv-{add_invoice(week, 1, '250.00')}"
    outgoing = f"tx-{add_transaction(week, 1, '-250.00', 'TEST-250.00', reference='TEST-250.00')}"
    tools = matching_tools(week, 1, learned=guard)
    out, ok = call(tools, "match_record", record_id=invoice, candidate_id=outgoing, confidence=1)
    assert not ok and "is settled by money in" in out["error"]  # direction

    offered = matching_tools(week, 1, learned=guard, offered={invoice: frozenset({"tx-1"})})
    out, ok = call(offered, "match_record", record_id=invoice, candidate_id=outgoing, confidence=1)
    assert not ok and "not one of the candidates offered" in out["error"]

    incoming = f"tx-{add_transaction(week, 1, '250.00', 'TEST-250.00', reference='TEST-250.00')}"
    with Session(week) as session, session.begin():
        session.add(
            Match(
                team_id=1, record_kind="invoice", record_id=int(invoice[4:]),
                transaction_id=int(incoming[3:]), decision="suggestion", status="declined",
                score=0.9, explanation="",
            )
        )  # fmt: skip
    out, ok = call(tools, "match_record", record_id=invoice, candidate_id=incoming, confidence=1)
    assert not ok and "a person declined" in out["error"]
