"""Settings are one validated model: every variable the package reads, with bounds, and each
problem reported on a line of its own that names the variable (and never repeats a secret)."""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bg_agents.defs.insights.delivery import catch_up_window
from bg_agents.lib import clock
from bg_agents.lib.settings import (
    Environment,
    SettingsError,
    SmtpServer,
    load_llm_settings,
    load_settings,
    parse_smtp_url,
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
        ("BG_AGENTS_SMTP_URL", "smtps://mail.example.com?starttls=1"),
        ("BG_AGENTS_SMTP_URL", "http://mail.example.com"),
        ("BG_AGENTS_SMTP_FROM", "not an address"),
        ("BG_AGENTS_PUBLIC_URL", "app.example.com"),
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


@pytest.mark.parametrize(
    ("url", "server"),
    [
        (
            "smtp://user%40example.com:p%40ss%3Aw0rd@mail.example.com:587?starttls=1",
            SmtpServer("mail.example.com", 587, "starttls", "user@example.com", "p@ss:w0rd"),
        ),
        (
            "smtp://u:pw@mail.example.com?starttls=1",
            SmtpServer("mail.example.com", 587, "starttls", "u", "pw"),
        ),
        ("smtps://u:pw@mail.example.com", SmtpServer("mail.example.com", 465, "tls", "u", "pw")),
        ("smtps://mail.example.com:2465", SmtpServer("mail.example.com", 2465, "tls")),
        ("smtp://127.0.0.1:1025", SmtpServer("127.0.0.1", 1025, "plain")),
        ("smtp://mail.example.com?starttls=0", SmtpServer("mail.example.com", 25, "plain")),
        ("smtp://u:pw@localhost:1025", SmtpServer("localhost", 1025, "plain", "u", "pw")),
    ],
)
def test_smtp_urls_name_host_port_security_and_decoded_credentials(
    url: str, server: SmtpServer
) -> None:
    assert parse_smtp_url(url) == server
    assert parse_smtp_url(url).password == server.password  # repr hides it; equality still sees it


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("smtps://u:hunter2@mail.example.com?starttls=1", "STARTTLS on smtps://"),
        ("submission://u:hunter2@mail.example.com", "smtp:// or smtps://"),
        ("smtp://u:hunter2@mail.example.com:25", "password unencrypted"),
        ("smtp://u:hunter2@mail.example.com?tls=1", "unknown option 'tls'"),
        ("smtp://u:hunter2@mail.example.com:70000?starttls=1", "not an SMTP URL"),
        ("smtp://u:hun@ter2@mail.example.com/x?starttls=1", "has a path"),
        ("smtp://u@mail.example.com?starttls=1", "no password"),
    ],
)
def test_a_bad_smtp_url_is_one_line_without_its_password(url: str, says: str) -> None:
    env = {"BG_AGENTS_SMTP_URL": url, "BG_AGENTS_SMTP_FROM": "billing@example.com"}
    with pytest.raises(SettingsError) as caught:
        read_environment(env)
    (problem,) = caught.value.problems
    assert problem.startswith("BG_AGENTS_SMTP_URL=") and says in problem
    assert "hunter2" not in problem and "ter2" not in problem


def test_email_settings_are_off_by_default_and_never_show_the_password(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    off = load_settings({"BG_AGENTS_HOME": home})
    assert (off.smtp, off.smtp_from, off.public_url) == (None, None, "http://127.0.0.1:8025")
    env = {
        "BG_AGENTS_HOME": home,
        "BG_AGENTS_SMTP_URL": "smtps://bot:hunter2@mail.example.com",
        "BG_AGENTS_SMTP_FROM": "Büro Müller <billing@example.com>",
        "BG_AGENTS_PUBLIC_URL": "https://app.example.com/",
        "BG_AGENTS_SECRET_KEY": "k" * 32,
    }
    on = load_settings(env)
    assert on.smtp == SmtpServer("mail.example.com", 465, "tls", "bot", "hunter2")
    assert on.public_url == "https://app.example.com" and on.secret_key() == "k" * 32
    for shown in (repr(on), repr(read_environment(env)), str(read_environment(env))):
        assert "hunter2" not in shown and "k" * 32 not in shown
    with pytest.raises(SettingsError, match="BG_AGENTS_SECRET_KEY: must be at least") as caught:
        read_environment({"BG_AGENTS_SECRET_KEY": "hunter2"})
    assert "hunter2" not in str(caught.value)
    with pytest.raises(SettingsError) as caught:
        read_environment({"BG_AGENTS_SMTP_URL": "smtp://127.0.0.1:1025"})
    assert caught.value.problems == [
        "BG_AGENTS_SMTP_FROM: must be set when BG_AGENTS_SMTP_URL is: the sender, "
        "e.g. Finance <billing@example.com>"
    ]


def test_without_a_configured_key_one_is_made_once_private_and_reused(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    settings = load_settings({"BG_AGENTS_HOME": str(home)})
    key = settings.secret_key()
    path = home / "secret_key"
    assert len(key) >= 32 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings({"BG_AGENTS_HOME": str(home)}).secret_key() == key
    assert [p.name for p in home.iterdir()] == ["secret_key"]  # no temporary file left
    other = load_settings({"BG_AGENTS_HOME": str(tmp_path / "other")}).secret_key()
    assert other != key
    path.write_text("short\n")
    with pytest.raises(SettingsError, match="delete it to make a new one"):
        settings.secret_key()
    os.unlink(path)
    assert settings.secret_key() not in (key, "short")


def test_reports_go_to_the_home_folder_or_a_url_whose_backend_is_installed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    home = {"BG_AGENTS_HOME": str(tmp_path)}
    assert load_settings(home).reports_base == str(tmp_path / "reports")
    url = {**home, "BG_AGENTS_REPORTS_URL": " memory://bucket/reports "}
    assert load_settings(url).reports_base == "memory://bucket/reports"
    for value, said in [
        ("s3://key:s3cr3t@bucket/reports", "s3:// needs a package: Install s3fs"),
        ("nope://bucket", "no storage is known for nope://"),
    ]:
        with pytest.raises(SettingsError) as caught:
            load_settings({**home, "BG_AGENTS_REPORTS_URL": value})
        assert said in str(caught.value) and "s3cr3t" not in str(caught.value)
