"""`bg-agents ask` works out of the box (offline) and against an OpenAI-compatible URL, through the
real openai client, falling back to offline when that server fails."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import LLMCall
from bg_agents_tests.helpers import team_with_last_week_measured
from bg_agents_tests.openai_stub import (
    Response,
    ScriptedOpenAI,
    raw,
    repeat,
    reply,
    status,
    tool_calls,
)

BIN = Path(sys.executable).with_name("bg-agents")
LLM_VARS = ("OPENAI_API_KEY", "BG_AGENTS_LLM_API_KEY", "OPENAI_BASE_URL", "BG_AGENTS_LLM_BACKEND")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A database whose last complete week is the real one, so "last week" has data."""
    home = tmp_path_factory.mktemp("ask")
    engine = get_engine(f"sqlite:///{home / 'app.db'}")
    migrate.upgrade(engine)
    slug, _ = team_with_last_week_measured(engine, seed_value=3)
    return home, slug


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


def bg(home: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """Any `bg-agents` command, through the installed entry point, like a user runs it."""
    environ = {k: v for k, v in os.environ.items() if k not in LLM_VARS}
    environ.update(BG_AGENTS_HOME=str(home), BG_AGENTS_LLM_MAX_RETRIES="0", **env)
    environ.pop("BG_AGENTS_DATABASE_URL", None)
    return subprocess.run(
        [str(BIN), *args], env=environ, input=stdin, capture_output=True, text=True, timeout=120
    )


# A key of no recognisable shape: only its literal value can find it in a message.
LITERAL_KEY = "gw-live-Q7v2Lk9RzX4mT8wN"


@pytest.mark.integration
def test_a_200_with_invalid_json_falls_back_instead_of_exiting_2(home) -> None:  # type: ignore[no-untyped-def]
    folder, team = home
    with ScriptedOpenAI(repeat(raw('{"id": "chatcmpl-1", choices: oops}'))) as server:
        proc = bg(
            folder,
            "ask",
            "--team",
            team,
            "How did expenses change last week?",
            BG_AGENTS_LLM_BASE_URL=server.base_url,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Expenses in the week of")
    assert "answered offline" in proc.stderr and "not a chat completion" in proc.stderr
    assert "Traceback" not in proc.stderr and "error:" not in proc.stderr


@pytest.mark.integration
def test_ask_json_never_prints_a_key_the_server_echoes(home) -> None:  # type: ignore[no-untyped-def]
    folder, team = home
    echo = status(
        401,
        message=f"Incorrect API key provided: Bearer {LITERAL_KEY}; also "
        f"{LITERAL_KEY} and sk-proj-Zx81LmQw93KdVb72TrPq",
    )
    with ScriptedOpenAI(repeat(echo)) as server:
        proc = bg(
            folder,
            "ask",
            "--team",
            team,
            "How did expenses change?",
            "--json",
            BG_AGENTS_LLM_BASE_URL=server.base_url,
            BG_AGENTS_LLM_API_KEY=LITERAL_KEY,
        )
        sent = server.requests[0].headers["authorization"]
    assert sent == f"Bearer {LITERAL_KEY}"  # the key was really used, so it could have leaked
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["backend"] == "offline" and "Incorrect API key provided" in out["fallback_reason"]
    for text in (proc.stdout, proc.stderr):
        assert LITERAL_KEY not in text and "Zx81LmQw93KdVb72TrPq" not in text


@pytest.mark.integration
def test_ask_json_never_prints_the_key_in_another_case_or_without_its_prefix(home) -> None:  # type: ignore[no-untyped-def]
    """Proxies echo the key upper-cased or without "sk-": every such form is redacted too."""
    folder, team = home
    key = "sk-test123secret"
    echo = status(
        401,
        message="Incorrect API key provided: SK-TEST123SECRET (key id test123secret, "
        "Test123Secret)",
    )
    with ScriptedOpenAI(repeat(echo)) as server:
        proc = bg(
            folder,
            "ask",
            "--team",
            team,
            "How did expenses change?",
            "--json",
            BG_AGENTS_LLM_BASE_URL=server.base_url,
            BG_AGENTS_LLM_API_KEY=key,
        )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["backend"] == "offline" and "Incorrect API key provided" in out["fallback_reason"]
    for text in (proc.stdout, proc.stderr):
        assert "test123secret" not in text.lower(), text


@pytest.mark.integration
def test_chat_goes_on_when_the_server_reports_null_tokens(home) -> None:  # type: ignore[no-untyped-def]
    """`completion_tokens: null` once ended the conversation with an IntegrityError."""
    folder, team = home
    body = reply("Expenses went down.").body
    null_usage = Response({**body, "usage": {"prompt_tokens": 20, "completion_tokens": None}})
    with ScriptedOpenAI(repeat(null_usage)) as server:
        proc = bg(
            folder,
            "chat",
            "--team",
            team,
            stdin="How did expenses change?\nAnd revenue?\n\n",
            BG_AGENTS_LLM_BASE_URL=server.base_url,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("analyst> Expenses went down.") == 2
    assert "Traceback" not in proc.stderr and "answered offline" not in proc.stderr
    engine = get_engine(f"sqlite:///{folder / 'app.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(LLMCall.prompt_tokens, LLMCall.completion_tokens, LLMCall.cost_usd)
            .order_by(LLMCall.id.desc())
            .limit(2)
        ).all()
    assert [tuple(r) for r in rows] == [(20, None, None)] * 2  # unknown, not 0


@pytest.mark.integration
def test_an_error_line_never_echoes_a_key_typed_by_mistake(home) -> None:  # type: ignore[no-untyped-def]
    folder, _ = home
    pasted = "sk-proj-Zx81LmQw93KdVb72TrPq"
    proc = bg(folder, "ask", "--team", pasted, "How did expenses change?")
    assert proc.returncode == 2
    assert proc.stderr.startswith("bg-agents: error: unknown team")
    assert pasted not in proc.stderr and "Traceback" not in proc.stderr
