"""`bg-agents ask` works out of the box (offline) and against an OpenAI-compatible URL, through the
real openai client, falling back to offline when that server fails."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bg_agents.db import migrate
from bg_agents.db.engine import get_engine
from bg_agents.domain.weeks import last_complete_week, last_complete_week_end
from bg_agents.ingest.transactions import ingest_day
from bg_agents.services.metrics import build_weekly_metrics
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat, reply, status, tool_calls

BIN = Path(sys.executable).with_name("bg-agents")
LLM_VARS = ("OPENAI_API_KEY", "BG_AGENTS_LLM_API_KEY", "OPENAI_BASE_URL", "BG_AGENTS_LLM_BACKEND")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database whose last complete week is the real one, so "last week" has data."""
    home = tmp_path_factory.mktemp("ask")
    engine = get_engine(f"sqlite:///{home / 'app.db'}")
    migrate.upgrade(engine)
    today = datetime.now(UTC).date()
    world = generate_world(teams=1, weeks=2, seed=3, end=last_complete_week_end(today))
    write_world(engine, world)
    day = world.start
    while day <= world.end:
        ingest_day(engine, day)
        day += timedelta(days=1)
    monday = last_complete_week(today)
    for week in (monday - timedelta(days=7), monday):
        build_weekly_metrics(engine, week)
    return home, world.teams[0]["slug"]


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in LLM_VARS}
    environ.update(BG_AGENTS_HOME=str(home), **env)
    environ.pop("BG_AGENTS_DATABASE_URL", None)
    return subprocess.run(
        [str(BIN), "ask", *args], env=environ, capture_output=True, text=True, timeout=120
    )


@pytest.mark.integration
def test_ask_answers_offline_without_any_configuration(home) -> None:  # type: ignore[no-untyped-def]
    folder, team = home
    proc = run(folder, "--team", team, "How did expenses change last week?", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["backend"] == "offline" and out["fallback_reason"] is None
    assert out["answer"].startswith("Expenses in the week of")
    assert out["tools"] == ["compare_periods"]


@pytest.mark.integration
def test_ask_uses_an_openai_compatible_server_with_the_same_tools(home) -> None:  # type: ignore[no-untyped-def]
    folder, team = home
    compare = {"metric": "expenses", "period1": "week_before", "period2": "last_week"}
    with ScriptedOpenAI(
        tool_calls([("compare_periods", compare)]), reply("Expenses went down.")
    ) as server:
        proc = run(
            folder,
            "--team",
            team,
            "How did expenses change last week?",
            "--json",
            BG_AGENTS_LLM_BASE_URL=server.base_url,
            BG_AGENTS_LLM_MODEL="gpt-4o-mini",
        )
        bodies = server.bodies()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {
        "answer": "Expenses went down.",
        "backend": "openai",
        "fallback_reason": None,
        "steps": 2,
        "tools": ["compare_periods"],
        "cost_usd": out["cost_usd"],
    }
    assert [t["function"]["name"] for t in bodies[0]["tools"]] == [
        "get_weekly_metrics",
        "compare_periods",
        "top_categories",
    ]
    tool_message = bodies[1]["messages"][-1]
    assert tool_message["role"] == "tool" and '"change_pct"' in tool_message["content"]


@pytest.mark.integration
def test_ask_falls_back_to_offline_when_the_server_keeps_failing(home) -> None:  # type: ignore[no-untyped-def]
    folder, team = home
    with ScriptedOpenAI(repeat(status(500))) as server:
        proc = run(
            folder,
            "--team",
            team,
            "How did expenses change last week?",
            BG_AGENTS_LLM_BASE_URL=server.base_url,
            BG_AGENTS_LLM_MAX_RETRIES="1",
        )
        attempts = len(server.bodies())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Expenses in the week of")
    assert "answered offline" in proc.stderr and "2 attempts" in proc.stderr
    assert attempts == 2
