"""Weekly insights through the real openai client against a scripted server: a good answer is
stored, an invented number is retried then replaced by the fallback, a 500 falls back; the asset
keeps one row per team and week."""

from datetime import date

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.defs._shared.resources import LLM, AppDatabase
from bg_agents.defs.insights.facts import build_facts, fallback_text
from bg_agents.defs.insights.service import generate_slot, load_inputs, teams_in_slot
from bg_agents.inprocess import materialization_metadata, materialize
from bg_agents.lib.agents.backends import OpenAIBackend, RetryPolicy
from bg_agents.lib.db.models import Insight, LLMCall
from bg_agents.lib.delivery_slots import slot_for
from bg_agents_tests.helpers import one_team_with_metrics
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat, reply, status

WEEK = date(2026, 3, 2)


@pytest.fixture
def team(engine):  # type: ignore[no-untyped-def]
    """One simulated team with two weeks of transactions and metrics; returns (slug, slot)."""
    slug, zone = one_team_with_metrics(engine)
    return slug, slot_for(WEEK, zone)


def _good_text(engine, slot: str) -> str:  # type: ignore[no-untyped-def]
    return fallback_text(build_facts(_inputs(engine, slot)), limit=3)


def _backend(server: ScriptedOpenAI) -> OpenAIBackend:
    return OpenAIBackend(
        api_key="test", base_url=server.base_url, retry=RetryPolicy(max_retries=1, base_delay=0.01)
    )


def _stored(engine) -> Insight:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return session.scalars(sa.select(Insight)).one()


def test_a_good_answer_is_stored_as_written(engine, team) -> None:  # type: ignore[no-untyped-def]
    _, slot = team
    text = _good_text(engine, slot)
    with ScriptedOpenAI(reply(text, model="gpt-4o-mini")) as server:
        result = generate_slot(engine, WEEK, slot, _backend(server))
    (generated,) = result.generated
    assert (generated.path, generated.content) == ("llm", text)
    stored = _stored(engine)
    assert (stored.content, stored.path, stored.model) == (text, "llm", "gpt-4o-mini")
    assert stored.facts["facts"], "the facts behind the text are kept with it"


def test_the_insight_names_the_model_the_server_reported_and_an_unknown_cost_stays_unknown(
    engine, team
) -> None:  # type: ignore[no-untyped-def]
    _, slot = team
    text = _good_text(engine, slot)
    with ScriptedOpenAI(reply(text, model="llama-3.1-8b-local")) as server:
        result = generate_slot(engine, WEEK, slot, _backend(server))
    assert _stored(engine).model == "llama-3.1-8b-local"
    assert (result.cost_unknown_calls, result.cost_usd) == (1, 0), "unpriced: unknown, not $0"


def test_an_invented_number_is_retried_with_the_reason_then_replaced(engine, team) -> None:  # type: ignore[no-untyped-def]
    _, slot = team
    invented = "- Revenue was $987,654.32.\n- Expenses were flat.\n- Net was fine."
    with ScriptedOpenAI(reply(invented), reply(invented)) as server:
        result = generate_slot(engine, WEEK, slot, _backend(server))
        bodies = server.bodies()
    (generated,) = result.generated
    assert generated.path == "fallback"
    assert any("987,654.32" in p for p in generated.problems)
    retry = bodies[1]["messages"][-1]["content"]
    assert "cannot be published" in retry and "987,654.32" in retry
    assert _stored(engine).content == fallback_text(build_facts(_inputs(engine, slot)), limit=5)


def test_a_bad_first_answer_then_a_good_one_is_stored_as_retried(engine, team) -> None:  # type: ignore[no-untyped-def]
    _, slot = team
    good = _good_text(engine, slot)
    with ScriptedOpenAI(reply("- Only one bullet."), reply(good)) as server:
        (generated,) = generate_slot(engine, WEEK, slot, _backend(server)).generated
    assert (generated.path, generated.content) == ("retried", good)


def test_a_server_error_falls_back_and_the_ledger_shows_the_attempts(engine, team) -> None:  # type: ignore[no-untyped-def]
    _, slot = team
    with ScriptedOpenAI(repeat(status(500))) as server:
        (generated,) = generate_slot(engine, WEEK, slot, _backend(server)).generated
    assert generated.path == "fallback" and _stored(engine).path == "fallback"
    with engine.connect() as conn:
        outcomes = conn.scalars(sa.select(LLMCall.outcome)).all()
    assert outcomes == ["server_error", "server_error"]


def _inputs(engine, slot):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        teams = teams_in_slot(conn, WEEK, slot)
        return load_inputs(conn, teams, WEEK)[teams[0].id]


@pytest.mark.integration
def test_asset_materializes_one_row_per_team_and_week_and_regenerates_one_team(
    engine, db_url, team
) -> None:  # type: ignore[no-untyped-def]
    slug, slot = team
    key = dg.MultiPartitionKey({"slot": slot, "week": WEEK.isoformat()})
    offline = LLM(backend="offline")
    first = materialize(
        ["weekly_insights"],
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=key,
        app_db=AppDatabase(url=db_url),
        llm_resource=offline,
    )
    meta = materialization_metadata(first, "weekly_insights")
    # The offline backend's rules wrote it, and the metadata says so (not "llm").
    assert (meta["generated"], meta["path_offline"], meta["path_llm"]) == (1, 1, 0)
    assert meta["backend"] == "offline (offline)" and meta["changed"] is True
    assert meta["llm_calls"] == 1 and meta["scope"] == "every team of the slot"
    statuses = (meta["delivered"], meta["skipped"], meta["awaiting_delivery"])
    assert sum(statuses) == meta["dagster/row_count"] == 1
    # A re-run finds the insight final or stored: it writes nothing and keeps the slot's figures.
    noop = materialization_metadata(
        materialize(
            ["weekly_insights"], instance=dg.DagsterInstance.ephemeral(), partition_key=key,
            app_db=AppDatabase(url=db_url), llm_resource=offline,
        ),
        "weekly_insights",
    )  # fmt: skip
    if statuses[0] + statuses[1]:  # delivered or skipped: final, not regenerated
        assert noop["changed"] is False and noop["generated"] == 0
    assert (noop["delivered"], noop["skipped"], noop["awaiting_delivery"]) == statuses
    assert (noop["dagster/row_count"], noop["path_offline"]) == (1, 1)
    assert noop["sample_insight"] == meta["sample_insight"]
    again = materialize(
        ["weekly_insights"],
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=key,
        app_db=AppDatabase(url=db_url),
        llm_resource=offline,
        run_config={"ops": {"weekly_insights": {"config": {"team": slug, "force": True}}}},
    )
    regenerated = materialization_metadata(again, "weekly_insights")
    assert (regenerated["scope"], regenerated["generated"]) == (f"team {slug} only", 1)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Insight)).scalar() == 1


@pytest.mark.integration
def test_the_facts_check_recomputes_every_stored_figure_from_the_raw_rows(
    engine, db_url, team
) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from bg_agents.defs.insights.quality import insight_facts_match
    from bg_agents.lib.db.models import Invoice, Team

    slug, slot = team
    with engine.begin() as conn:
        team_id = conn.execute(sa.select(Team.id).where(Team.slug == slug)).scalar_one()
        conn.execute(
            sa.insert(Invoice),
            {
                "team_id": team_id,
                "number": "CHECK-1",
                "amount": Decimal("12411.70"),
                "amount_paid": Decimal("0.05"),
                "currency": "USD",
                "issue_date": date(2026, 1, 2),
                "due_date": date(2026, 2, 1),
                "status": "partially_paid",
            },
        )
    key = dg.MultiPartitionKey({"slot": slot, "week": WEEK.isoformat()})
    result = materialize(
        ["weekly_insights"],
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=key,
        app_db=AppDatabase(url=db_url),
        llm_resource=LLM(backend="offline"),
    )
    (check,) = [
        c for c in result.get_asset_check_evaluations() if c.check_name == "facts_match_data"
    ]
    assert check.passed
    assert check.metadata["insights_checked"].value == 1

    # A stored figure that no longer matches the data is named.
    stored = _stored(engine)
    facts = stored.facts
    for fact in facts["facts"]:
        if fact["key"] == "overdue":
            fact["figures"][0]["value"] = "124117000.00"
    with engine.begin() as conn:
        conn.execute(sa.update(Insight).values(facts=facts))
        outcome = insight_facts_match(conn, WEEK, [team_id])
    assert not outcome.passed
    assert "overdue.amount: stored 124117000.00" in outcome.description
