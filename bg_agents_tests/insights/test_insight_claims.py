"""Insights are claimed before the model is called: two processes racing for the same unit on
PostgreSQL pay for each team's insight once; a claim left by a dead process is taken over after
the timeout, a live one is not."""

import multiprocessing as mp
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from bg_agents.defs.insights.service import generate_slot
from bg_agents.lib.agents.backends import OpenAIBackend, RetryPolicy
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import Insight, InsightClaim, LLMCall, Team
from bg_agents.lib.db.types import utcnow
from bg_agents.lib.delivery_slots import slot_for
from bg_agents_tests.helpers import ingest_and_measure, seed
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat, reply, slow

WEEK = date(2026, 3, 2)
ZONE = "Europe/Berlin"
TEAMS = 6
# Not publishable (one bullet): each generation is exactly two calls, the answer and its retry.
ANSWER = "- Only one bullet."


def _world(engine) -> str:  # type: ignore[no-untyped-def]
    """TEAMS simulated teams with measured weeks, all in one delivery slot; returns the slot."""
    seed(engine, teams=TEAMS, weeks=2)
    ingest_and_measure(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(Team).values(time_zone=ZONE))
    return slot_for(WEEK, ZONE)


def _backend(base_url: str) -> OpenAIBackend:
    return OpenAIBackend(
        api_key="test", base_url=base_url, retry=RetryPolicy(max_retries=0, base_delay=0.01)
    )


def _race(url: str, base_url: str, slot: str, run_id: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    engine = get_engine(url)
    barrier.wait()  # both processes ask for the same unit at the same moment
    result = generate_slot(engine, WEEK, slot, _backend(base_url), run_id=run_id, concurrency=3)
    results.put((len(result.generated), len(result.claimed_elsewhere)))


@pytest.mark.postgres
@pytest.mark.integration
def test_two_processes_racing_for_a_unit_pay_once_per_insight(postgres_url: str) -> None:
    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    slot = _world(engine)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    with ScriptedOpenAI(repeat(slow(0.3, reply(ANSWER)))) as server:
        procs = [
            ctx.Process(
                target=_race,
                args=(postgres_url, server.base_url, slot, f"run-{i}", barrier, results),
            )
            for i in range(2)
        ]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        model_calls = len(server.requests)
    assert sum(generated for generated, _ in outcomes) == TEAMS
    assert sum(elsewhere for _, elsewhere in outcomes) == TEAMS  # each skipped what the other had
    assert model_calls == 2 * TEAMS
    with engine.connect() as conn:
        runs_per_team = conn.execute(
            sa.select(LLMCall.team_id, sa.func.count(sa.distinct(LLMCall.run_id))).group_by(
                LLMCall.team_id
            )
        ).all()
        insights = conn.execute(sa.select(sa.func.count()).select_from(Insight)).scalar_one()
    assert len(runs_per_team) == TEAMS and {n for _, n in runs_per_team} == {1}
    assert insights == TEAMS


def _hold(engine, owner: str, claimed_at) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        for team_id in conn.scalars(sa.select(Team.id)).all():
            conn.execute(
                sa.insert(InsightClaim),
                {"team_id": team_id, "week_start": WEEK, "owner": owner, "claimed_at": claimed_at},
            )


def test_a_live_claim_is_left_alone_and_a_dead_ones_is_taken_over(engine) -> None:  # type: ignore[no-untyped-def]
    slot = _world(engine)
    _hold(engine, "live-run", utcnow())
    with ScriptedOpenAI(repeat(reply(ANSWER))) as server:
        busy = generate_slot(engine, WEEK, slot, _backend(server.base_url))
        assert (len(busy.generated), len(busy.claimed_elsewhere), len(server.requests)) == (
            0,
            TEAMS,
            0,
        )
        # The holder died: its claims are older than the timeout and never finished.
        with engine.begin() as conn:
            conn.execute(sa.update(InsightClaim).values(claimed_at=utcnow() - timedelta(hours=1)))
        taken = generate_slot(
            engine, WEEK, slot, _backend(server.base_url), claim_timeout=timedelta(minutes=30)
        )
        assert (len(taken.generated), len(server.requests)) == (TEAMS, 2 * TEAMS)
        # A forced re-run after the work finished claims again and regenerates, as before.
        again = generate_slot(engine, WEEK, slot, _backend(server.base_url), force=True)
        assert len(again.generated) == TEAMS
    with engine.connect() as conn:
        unfinished = conn.execute(
            sa.select(sa.func.count()).where(InsightClaim.finished_at.is_(None))
        ).scalar_one()
    assert unfinished == 0


def test_a_retry_takes_over_the_claims_its_killed_parent_left_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    """run_retries launches the retry seconds after the kill: it must not wait out the timeout,
    and it must not take a live claim of an unrelated run whose id merely starts alike."""
    slot = _world(engine)
    _hold(engine, "run-killed:4242:abc", utcnow())
    with ScriptedOpenAI(repeat(reply(ANSWER))) as server:
        stranger = generate_slot(engine, WEEK, slot, _backend(server.base_url), retry_of=["run"])
        assert (len(stranger.generated), len(stranger.claimed_elsewhere)) == (0, TEAMS)
        retry = generate_slot(
            engine,
            WEEK,
            slot,
            _backend(server.base_url),
            run_id="run-retry",
            retry_of=["run-killed"],
        )
        assert (len(retry.generated), len(retry.claimed_elsewhere)) == (TEAMS, 0)
    with engine.connect() as conn:
        owners = set(conn.scalars(sa.select(InsightClaim.owner)))
    assert all(o.startswith("run-retry:") for o in owners), owners


@pytest.mark.parametrize("step", ["generate", "store"])
def test_a_failed_generation_or_store_gives_its_claims_back(engine, monkeypatch, step) -> None:  # type: ignore[no-untyped-def]
    """Otherwise the unit would wait for the timeout before anyone could write it."""
    import bg_agents.defs.insights.service as insights

    slot = _world(engine)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"bug in {step}")

    monkeypatch.setattr(insights, step, broken)
    with ScriptedOpenAI(repeat(reply(ANSWER))) as server, pytest.raises(RuntimeError, match="bug"):
        generate_slot(engine, WEEK, slot, _backend(server.base_url))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(InsightClaim)).scalar() == 0
