"""Settings are one validated model: every variable the package reads, with bounds, and each
problem reported on a line of its own that names the variable (and never repeats a secret)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bg_agents.defs.insights.delivery import catch_up_window
from bg_agents.lib import clock
from bg_agents.lib.settings import (
    Environment,
    SettingsError,
    load_llm_settings,
    load_settings,
    read_environment,
)

PACKAGE = Path(__file__).resolve().parents[2] / "bg_agents"


def test_defaults_need_no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.home == tmp_path.resolve() / ".bg_agents"
    assert s.database_url == f"sqlite:///{s.home / 'app.db'}"
    assert s.history_start == date(2025, 1, 1)
    llm = load_llm_settings({})
    assert (llm.backend, llm.request_timeout, llm.max_retries) == ("offline", 30.0, 4)
    assert read_environment({}).insights_catch_up_hours == 48


def test_empty_values_mean_unset() -> None:
    env = {name: "" for name in _aliases()}
    assert load_llm_settings(env) == load_llm_settings({})
    assert read_environment(env).now is None


def test_every_problem_is_reported_at_once_one_line_each() -> None:
    env = {
        "BG_AGENTS_LLM_TIMEOUT": "-1",
        "BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "-5",
        "BG_AGENTS_NOW": "9999-12-31T23:59:59+00:00",
        "BG_AGENTS_DATABASE_URL": "mysql://app:hunter2@db/app",
    }
    with pytest.raises(SettingsError) as caught:
        read_environment(env)
    problems = caught.value.problems
    assert len(problems) == 4 and str(caught.value).splitlines() == problems
    assert {p.split("=", 1)[0] for p in problems} == set(env)
    assert all("\n" not in p for p in problems)
    assert "hunter2" not in str(caught.value) and "app:***@db" in str(caught.value)


def test_settings_errors_are_value_errors_for_existing_callers() -> None:
    with pytest.raises(ValueError, match="BG_AGENTS_LLM_TIMEOUT"):
        load_settings({"BG_AGENTS_LLM_TIMEOUT": "soon"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BG_AGENTS_LLM_TIMEOUT", "0"),
        ("BG_AGENTS_LLM_TIMEOUT", "nan"),
        ("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS", "-0.5"),
        ("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS", "inf"),
        ("BG_AGENTS_LLM_MAX_RETRIES", "-1"),
        ("BG_AGENTS_NOW", "1969-12-31T23:00:00+00:00"),
        ("BG_AGENTS_NOW", "1700000000"),
        ("BG_AGENTS_HISTORY_START", "2101-01-01"),
        ("BG_AGENTS_DATABASE_URL", "sqlite+aiosqlite:///x.db"),
        ("BG_AGENTS_DATABASE_URL", "postgres://u@h/db"),
        ("BG_AGENTS_LLM_BASE_URL", "ftp://models.example"),
        ("BG_AGENTS_LLM_MODEL", "   "),
    ],
)
def test_out_of_bounds_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        read_environment({name: value})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{name}=")


def test_the_clock_and_the_catch_up_window_read_validated_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-11-23T07:00:00+05:30")
    monkeypatch.setenv("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS", "12.5")
    assert clock.now() == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    assert catch_up_window() == timedelta(hours=12.5)
    monkeypatch.setenv("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS", "-5")
    with pytest.raises(SettingsError, match="BG_AGENTS_INSIGHTS_CATCH_UP_HOURS"):
        catch_up_window()
    monkeypatch.delenv("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS")
    monkeypatch.setenv("BG_AGENTS_NOW", "9999-12-31T23:59:59+00:00")
    with pytest.raises(SettingsError, match="BG_AGENTS_NOW"):
        clock.now()


def test_home_must_be_a_writable_folder(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for home, says in ((a_file, "is a file"), (a_file / "sub", "cannot be created")):
        with pytest.raises(SettingsError, match=f"BG_AGENTS_HOME=.*{says}"):
            load_settings({"BG_AGENTS_HOME": str(home)})
    assert load_settings({"BG_AGENTS_HOME": str(tmp_path / "new" / "home")}).home.name == "home"


def _aliases() -> set[str]:
    return {f.alias for f in Environment.model_fields.values() if f.alias}


def test_every_variable_the_package_names_is_in_the_model() -> None:
    """A new knob read somewhere else would skip validation: all of them live in one model."""
    named: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r"\b(?:BG_AGENTS|OPENAI)_[A-Z_]+[A-Z]\b", path.read_text()))
    assert named and named <= _aliases(), named - _aliases()


# Variables the package reads by name outside the model, and why: none, settings.py is the one
# place (the database URL reaches Dagster as dg.EnvVar by name, which reads nothing here).
READ_BY_NAME_ALLOWED: set[tuple[str, str]] = set()


def test_no_other_module_reads_a_setting_by_name() -> None:
    """Reading the key's value through ``api_key_var`` is fine; a literal name bypasses checks."""
    pattern = re.compile(
        r"""(?:os\.environ(?:\.get|\.setdefault)?|getenv)\s*[\[(]\s*["']([A-Z_]+)"""
    )
    reads = {
        (str(path.relative_to(PACKAGE)), name)
        for path in PACKAGE.rglob("*.py")
        if path.name != "settings.py"
        for name in pattern.findall(path.read_text())
    }
    assert reads <= READ_BY_NAME_ALLOWED, reads - READ_BY_NAME_ALLOWED
