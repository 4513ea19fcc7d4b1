"""Which backend runs is decided by the environment alone: offline with no key, the openai client
with a key or a base URL; the key reaches Dagster only as an EnvVar."""

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from bg_agents.defs._shared.resources import llm
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.lib.agents.backends import OfflineBackend, OpenAIBackend
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.settings import load_llm_settings
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world


def test_no_key_and_no_url_means_offline() -> None:
    s = load_llm_settings({})
    assert (s.backend, s.model, s.api_key_var) == ("offline", "gpt-4o-mini", None)


def test_a_key_or_a_base_url_selects_the_openai_client() -> None:
    assert load_llm_settings({"OPENAI_API_KEY": "sk-x"}).backend == "openai"
    local = load_llm_settings({"BG_AGENTS_LLM_BASE_URL": "http://localhost:11434/v1"})
    assert (local.backend, local.base_url) == ("openai", "http://localhost:11434/v1")
    forced = load_llm_settings({"OPENAI_API_KEY": "sk-x", "BG_AGENTS_LLM_BACKEND": "offline"})
    assert forced.backend == "offline"


def test_bad_values_are_refused_with_the_variable_named() -> None:
    with pytest.raises(ValueError, match="BG_AGENTS_LLM_BACKEND"):
        load_llm_settings({"BG_AGENTS_LLM_BACKEND": "gpt"})
    with pytest.raises(ValueError, match="BG_AGENTS_LLM_TIMEOUT"):
        load_llm_settings({"BG_AGENTS_LLM_TIMEOUT": "soon"})


def test_dagster_resource_keeps_the_key_out_of_its_config(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("BG_AGENTS_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("BG_AGENTS_LLM_BACKEND", raising=False)
    monkeypatch.setenv("BG_AGENTS_LLM_API_KEY", "sk-secret")
    resource = llm()
    assert resource.backend == "openai"
    assert isinstance(resource.api_key, dg.EnvVar) and "sk-secret" not in repr(resource)
    monkeypatch.delenv("BG_AGENTS_LLM_API_KEY")
    assert isinstance(llm().chat_backend(), OfflineBackend)
    built = llm().model_copy(update={"backend": "openai", "api_key": "k"}).chat_backend()
    assert isinstance(built, OpenAIBackend) and built.model == "gpt-4o-mini"


@pytest.mark.integration
def test_chat_answers_each_question_until_an_empty_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        "PATH": "/usr/bin:/bin",
        "BG_AGENTS_HOME": str(home),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    (tmp_path / "dagster").mkdir()
    # The data a chat reads, written in-process (a `demo` subprocess took most of this test):
    # two measured weeks, the later one "last week" on the pinned clock in every zone.
    home.mkdir()
    engine = get_engine(f"sqlite:///{home / 'app.db'}")
    migrate.upgrade(engine)
    world = generate_world(teams=1, weeks=2, seed=3, end=date(2026, 3, 15))
    write_world(engine, world)
    for offset in range((world.end - world.start).days + 1):
        ingest_day(engine, world.start + timedelta(days=offset))
    for monday in (date(2026, 3, 2), date(2026, 3, 9)):
        build_weekly_metrics(engine, monday)
    engine.dispose()
    team = world.teams[0]["slug"]
    env["BG_AGENTS_NOW"] = "2026-03-18T12:00:00+00:00"
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bin_dir / "bg-agents"), "chat", "--team", team],
        env=env,
        input="How did revenue change?\n/reset\nWhat were the top categories?\n\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # input() prints its "you> " prompt without a newline, so answers follow it on the line.
    answers = [
        line.split("analyst> ", 1)[1] for line in proc.stdout.splitlines() if "analyst> " in line
    ]
    assert len(answers) == 2
    assert answers[0].startswith("Revenue in the week of")
    assert answers[1].startswith("Top spending in the week of")
