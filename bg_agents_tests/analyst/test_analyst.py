"""The analyst agent answers from the team's own numbers, offline out of the box, and only ever
sees the team it was built for."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bg_agents.defs.analyst.agent import ask, plan
from bg_agents.defs.metrics.tools import metric_tools, resolve_week
from bg_agents.lib.agents.backends import OfflineBackend
from bg_agents.lib.agents.tools import ToolError, run_tool
from bg_agents.lib.db.models import LLMCall, Team, WeeklyMetric
from bg_agents_tests.helpers import ingest_and_measure, seed

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)  # a Tuesday: last week is 2026-03-02..08


@pytest.fixture
def world(engine):  # type: ignore[no-untyped-def]
    seed(engine, teams=2, weeks=2)
    ingest_and_measure(engine)
    with engine.connect() as conn:
        return conn.execute(sa.select(Team.id, Team.slug).order_by(Team.id)).all()


def test_resolve_week_names_complete_iso_weeks_only() -> None:
    today = NOW.date()
    assert str(resolve_week("last_week", today)) == "2026-03-02"
    assert str(resolve_week("week_before", today)) == "2026-02-23"
    assert str(resolve_week("2026-02-26", today)) == "2026-02-23"
    with pytest.raises(ToolError, match="has not ended"):
        resolve_week("2026-03-10", today)
    with pytest.raises(ToolError, match="cannot read week"):
        resolve_week("soon", today)


def test_questions_map_to_the_tools_that_answer_them() -> None:
    assert [c.name for c in plan("How did expenses change last week?")] == ["compare_periods"]
    assert [c.name for c in plan("top categories and revenue?")] == [
        "compare_periods",
        "top_categories",
    ]
    assert [c.name for c in plan("hello")] == ["get_weekly_metrics"]


def test_offline_answer_quotes_the_stored_figures(engine, world) -> None:  # type: ignore[no-untyped-def]
    (team_id, slug), _ = world
    answer = ask(engine, slug, "How did expenses change last week?", OfflineBackend(), now=NOW)
    with engine.connect() as conn:
        m = conn.execute(
            sa.select(WeeklyMetric.expenses, WeeklyMetric.prev_expenses).where(
                WeeklyMetric.team_id == team_id, WeeklyMetric.week_start == "2026-03-02"
            )
        ).one()
        calls = conn.execute(sa.select(LLMCall.agent, LLMCall.model, LLMCall.outcome)).all()
    assert answer.backend == "offline" and answer.fallback_reason is None
    assert f"{m.expenses:,.2f}" in answer.text and f"{m.prev_expenses:,.2f}" in answer.text
    assert [t.name for t in answer.tools] == ["compare_periods"] and answer.tools[0].ok
    assert calls == [("analyst", "offline", "ok")] * 2  # both model calls are in the ledger


def test_tools_cannot_reach_another_team(engine, world) -> None:  # type: ignore[no-untyped-def]
    (team_a, _), (team_b, _) = world
    tools_a = metric_tools(engine, team_a, NOW.date())
    tools_b = metric_tools(engine, team_b, NOW.date())
    out_a, ok_a = run_tool(tools_a, "get_weekly_metrics", '{"week": "last_week"}')
    out_b, ok_b = run_tool(tools_b, "get_weekly_metrics", '{"week": "last_week"}')
    assert ok_a and ok_b and out_a != out_b
    # No argument names a team: a model that tries gets an error, not the other team's data.
    out, ok = run_tool(
        tools_a, "get_weekly_metrics", f'{{"week": "last_week", "team_id": {team_b}}}'
    )
    assert not ok and "team_id" in out and "not permitted" in out


def test_unknown_team_and_empty_question_are_refused(engine, world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown team 'nope'"):
        ask(engine, "nope", "expenses?", OfflineBackend(), now=NOW)
    with pytest.raises(ValueError, match="empty"):
        ask(engine, world[0].slug, "  ", OfflineBackend(), now=NOW)
