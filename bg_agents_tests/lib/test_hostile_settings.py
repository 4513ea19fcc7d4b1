"""Hostile settings and arguments through the real `bg-agents` entry point, in a subprocess.

A user's mistake (a misspelt URL, a negative timeout, a date in the year 9999) must end in one
line that names the variable or argument and exit 2, never in a Python traceback; values at the
edge of what is allowed must still work. Each case runs the installed command as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(sys.executable).with_name("bg-agents")


@dataclass(frozen=True)
class Case:
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ("stats", "--json")
    code: int = 2
    says: tuple[str, ...] = ()  # every one of these is on stderr
    never: tuple[str, ...] = ()  # none of these is anywhere in the output (secrets)


def _env(tmp: Path, home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BG_AGENTS_", "OPENAI_", "DAGSTER_"))
    }
    env.update({"BG_AGENTS_HOME": str(home), "DAGSTER_HOME": str(tmp / "dagster")})
    env.update(extra)
    return env


A_FILE = "<file>"  # replaced by the path of a regular file
LONG = "x" * 500

# name -> case; "<file>" and "<tmp>" are placeholders filled in per test.
INVALID: dict[str, Case] = {
    "url garbage": Case(
        {"BG_AGENTS_DATABASE_URL": "garbage"}, says=("BG_AGENTS_DATABASE_URL", "not a database URL")
    ),
    "url mysql with password": Case(
        {"BG_AGENTS_DATABASE_URL": "mysql://app:hunter2@db/app"},
        says=("only sqlite and postgresql",),
        never=("hunter2",),
    ),
    "url unknown driver": Case(
        {"BG_AGENTS_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/db"},
        says=("driver 'asyncpg' is not supported",),
    ),
    "url unreachable port": Case(
        {"BG_AGENTS_DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:1/test"},
        says=("cannot connect to the database", "127.0.0.1:1"),
        never=("s3cret",),
    ),
    "url port out of range": Case(
        {"BG_AGENTS_DATABASE_URL": "postgresql://u@127.0.0.1:99999/db"},
        says=("BG_AGENTS_DATABASE_URL",),
    ),
    "url sqlite in unwritable folder": Case(
        {"BG_AGENTS_DATABASE_URL": "sqlite:////proc/bg_agents/app.db"},
        says=("BG_AGENTS_DATABASE_URL", "not writable"),
    ),
    "url sqlite in a file": Case(
        {"BG_AGENTS_DATABASE_URL": f"sqlite:///{A_FILE}/app.db"},
        says=("BG_AGENTS_DATABASE_URL", "is a file"),
    ),
    "home is a file": Case({"BG_AGENTS_HOME": A_FILE}, says=("BG_AGENTS_HOME", "is a file")),
    "home below a file": Case(
        {"BG_AGENTS_HOME": f"{A_FILE}/home"}, says=("BG_AGENTS_HOME", "cannot be created")
    ),
    "home unwritable": Case(
        {"BG_AGENTS_HOME": "/proc/bg_agents_home"}, says=("BG_AGENTS_HOME", "not writable")
    ),
    "dagster home is a file": Case({"DAGSTER_HOME": A_FILE}, says=("DAGSTER_HOME", "is a file")),
    "openai base url garbage": Case(
        {"OPENAI_BASE_URL": "not a url"}, says=("OPENAI_BASE_URL", "http")
    ),
    "now blank": Case({"BG_AGENTS_NOW": "   "}, says=("BG_AGENTS_NOW", "ISO instant")),
    "dagster home relative": Case(
        {"DAGSTER_HOME": "relative/dagster"}, says=("DAGSTER_HOME", "absolute")
    ),
    "now year 9999": Case(
        {"BG_AGENTS_NOW": "9999-12-31T23:59:59+00:00"}, says=("BG_AGENTS_NOW", "2100-12-31")
    ),
    "now year 1 east of utc": Case(
        {"BG_AGENTS_NOW": "0001-01-01T00:00:00+14:00"}, says=("BG_AGENTS_NOW", "1970-01-01")
    ),
    "now garbage": Case({"BG_AGENTS_NOW": "tomorrow"}, says=("BG_AGENTS_NOW", "ISO instant")),
    "now without offset": Case(
        {"BG_AGENTS_NOW": "2026-11-23T07:00:00"}, says=("BG_AGENTS_NOW", "UTC offset")
    ),
    "history start invalid": Case(
        {"BG_AGENTS_HISTORY_START": "2025-13-01"}, says=("BG_AGENTS_HISTORY_START", "ISO date")
    ),
    "history start year 9999": Case(
        {"BG_AGENTS_HISTORY_START": "9999-12-31"}, says=("BG_AGENTS_HISTORY_START", "between")
    ),
    "history start unix timestamp": Case(
        {"BG_AGENTS_HISTORY_START": "1700000000"}, says=("BG_AGENTS_HISTORY_START", "ISO date")
    ),
    "catch-up negative": Case(
        {"BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "-5"},
        says=("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS='-5'", "greater than or equal to 0"),
    ),
    "catch-up huge": Case(
        {"BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "1e308"},
        says=("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS", "less than or equal to 8784"),
    ),
    "catch-up nan": Case(
        {"BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "nan"},
        says=("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS", "finite"),
    ),
    "catch-up words": Case(
        {"BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "two days"},
        says=("BG_AGENTS_INSIGHTS_CATCH_UP_HOURS", "must be a number"),
    ),
    "timeout negative": Case(
        {"BG_AGENTS_LLM_TIMEOUT": "-1"}, says=("BG_AGENTS_LLM_TIMEOUT='-1'", "greater than 0")
    ),
    "timeout zero": Case({"BG_AGENTS_LLM_TIMEOUT": "0"}, says=("BG_AGENTS_LLM_TIMEOUT",)),
    "timeout infinite": Case({"BG_AGENTS_LLM_TIMEOUT": "inf"}, says=("BG_AGENTS_LLM_TIMEOUT",)),
    "timeout huge": Case({"BG_AGENTS_LLM_TIMEOUT": "1e12"}, says=("BG_AGENTS_LLM_TIMEOUT",)),
    "retries negative": Case(
        {"BG_AGENTS_LLM_MAX_RETRIES": "-1"}, says=("BG_AGENTS_LLM_MAX_RETRIES",)
    ),
    "retries huge": Case(
        {"BG_AGENTS_LLM_MAX_RETRIES": "99999999999999999999"},
        says=("BG_AGENTS_LLM_MAX_RETRIES",),
    ),
    "retries fraction": Case(
        {"BG_AGENTS_LLM_MAX_RETRIES": "2.5"}, says=("BG_AGENTS_LLM_MAX_RETRIES",)
    ),
    "backend unknown": Case(
        {"BG_AGENTS_LLM_BACKEND": "gpt"}, says=("BG_AGENTS_LLM_BACKEND", "'openai' or 'offline'")
    ),
    "base url without scheme": Case(
        {"BG_AGENTS_LLM_BASE_URL": "localhost:11434/v1"}, says=("BG_AGENTS_LLM_BASE_URL", "http")
    ),
    "model name too long": Case(
        {"BG_AGENTS_LLM_MODEL": LONG}, says=("BG_AGENTS_LLM_MODEL", "100 characters")
    ),
    "smtp password in clear over the network": Case(
        {"BG_AGENTS_SMTP_URL": "smtp://bot:hunter2@mail.example.com"},
        says=("BG_AGENTS_SMTP_URL='smtp://bot:", "@mail.example.com'", "unencrypted"),
        never=("hunter2",),
    ),
    "smtps with starttls": Case(
        {"BG_AGENTS_SMTP_URL": "smtps://bot:hunter2@mail.example.com?starttls=1"},
        says=("BG_AGENTS_SMTP_URL", "STARTTLS on smtps://"),
        never=("hunter2",),
    ),
    "smtp without a sender": Case(
        {"BG_AGENTS_SMTP_URL": "smtp://127.0.0.1:1025"}, says=("BG_AGENTS_SMTP_FROM: must be set",)
    ),
    "secret key too short": Case(
        {"BG_AGENTS_SECRET_KEY": "hunter2"},
        says=("BG_AGENTS_SECRET_KEY: must be at least 16",),
        never=("hunter2",),
    ),
    "two problems, two lines": Case(
        {"BG_AGENTS_LLM_TIMEOUT": "-1", "BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "-5"},
        says=("BG_AGENTS_LLM_TIMEOUT", "BG_AGENTS_INSIGHTS_CATCH_UP_HOURS"),
    ),
    "week year 9999": Case(
        args=("insights", "generate", "--team", "t", "--week", "9999-12-31"),
        says=("argument --week", "2100-12-31"),
    ),
    "week not a date": Case(
        args=("insights", "generate", "--team", "t", "--week", "2026-02-30"),
        says=("argument --week", "ISO date"),
    ),
    "preview from year 9999": Case(
        args=("deliveries", "preview", "--tz", "UTC", "--from", "9999-12-27"),
        says=("argument --from",),
    ),
    "preview weeks huge": Case(
        args=("deliveries", "preview", "--tz", "UTC", "--from", "2026-01-05", "--weeks", "10**12"),
        says=("argument --weeks",),
    ),
    "preview weeks over ceiling": Case(
        args=("deliveries", "preview", "--tz", "UTC", "--from", "2026-01-05", "--weeks", "999999"),
        says=("argument --weeks", "at most 520"),
    ),
    "preview unknown zone": Case(
        args=("deliveries", "preview", "--tz", "Mars/Olympus", "--from", "2026-01-05"),
        says=("unknown time zone",),
    ),
    "demo weeks huge": Case(args=("demo", "--weeks", "999999999"), says=("argument --weeks",)),
    "seed teams zero": Case(args=("seed", "--teams", "0"), says=("must be at least 1",)),
}

# Values at the edge of what is allowed: the command works (on a migrated database).
VALID: dict[str, Case] = {
    "empty values mean defaults": Case(
        {
            "BG_AGENTS_NOW": "",
            "BG_AGENTS_HISTORY_START": "",
            "BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "",
            "BG_AGENTS_LLM_TIMEOUT": "",
            "BG_AGENTS_LLM_MAX_RETRIES": "",
            "BG_AGENTS_LLM_BACKEND": "",
            "BG_AGENTS_LLM_MODEL": "",
        },
        code=0,
    ),
    "smallest values": Case(
        {
            "BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "0",
            "BG_AGENTS_LLM_TIMEOUT": "0.001",
            "BG_AGENTS_LLM_MAX_RETRIES": "0",
            "BG_AGENTS_HISTORY_START": "1970-01-01",
            "BG_AGENTS_NOW": "1970-01-01T00:00:00+00:00",
        },
        code=0,
    ),
    "largest values": Case(
        {
            "BG_AGENTS_INSIGHTS_CATCH_UP_HOURS": "8784",
            "BG_AGENTS_LLM_TIMEOUT": "3600",
            "BG_AGENTS_LLM_MAX_RETRIES": "20",
            "BG_AGENTS_NOW": "2100-12-31T23:59:59-12:00",
            "BG_AGENTS_LLM_BACKEND": " Offline ",
            "BG_AGENTS_LLM_BASE_URL": "http://127.0.0.1:11434/v1",
        },
        code=0,
    ),
    "e-mail configured": Case(
        {
            "BG_AGENTS_SMTP_URL": "smtps://bot%40example.com:p%40ss@mail.example.com:465",
            "BG_AGENTS_SMTP_FROM": "Büro Müller <billing@example.com>",
            "BG_AGENTS_PUBLIC_URL": "https://app.example.com/",
            "BG_AGENTS_SECRET_KEY": "0123456789abcdef",
        },
        code=0,
    ),
    "last allowed week": Case(
        args=("deliveries", "preview", "--tz", "Pacific/Kiritimati", "--from", "2100-12-31"),
        code=0,
        says=(),
    ),
}


def _fill(case: Case, tmp: Path) -> Case:
    a_file = tmp / "not-a-folder"
    a_file.write_text("x")
    env = {k: v.replace(A_FILE, str(a_file)) for k, v in case.env.items()}
    return Case(env, case.args, case.code, case.says, case.never)


def _run(case: Case, tmp: Path, home: Path) -> subprocess.CompletedProcess[str]:
    (tmp / "dagster").mkdir(exist_ok=True)
    return subprocess.run(
        [str(BIN), *case.args],
        env=_env(tmp, home, **case.env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def migrated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    home = tmp / "home"
    proc = _run(Case(args=("db", "upgrade")), tmp, home)
    assert proc.returncode == 0, proc.stderr
    return home


@pytest.mark.parametrize("name", sorted(INVALID))
def test_a_bad_setting_or_argument_is_one_clear_line(
    name: str, tmp_path: Path, migrated_home: Path
) -> None:
    case = _fill(INVALID[name], tmp_path)
    proc = _run(case, tmp_path, migrated_home)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == case.code, proc.stderr
    for text in case.says:
        assert text in proc.stderr, proc.stderr
    for secret in case.never:
        assert secret not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    # argparse prints its usage line first; every other line is one problem.
    problems = [line for line in lines if not line.startswith(("usage:", " "))]
    assert problems and all("error:" in line for line in problems), proc.stderr
    if case.env:  # one line for each bad variable
        assert len(problems) == len(case.env), proc.stderr


@pytest.mark.parametrize("name", sorted(VALID))
def test_values_at_the_edge_still_work(name: str, tmp_path: Path, migrated_home: Path) -> None:
    case = _fill(VALID[name], tmp_path)
    proc = _run(case, tmp_path, migrated_home)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_a_new_nested_home_is_created(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b" / "home"
    proc = _run(Case(args=("db", "upgrade")), tmp_path, home)
    assert proc.returncode == 0, proc.stderr
    assert (home / "app.db").is_file()


@pytest.mark.postgres
def test_a_postgresql_url_is_accepted_and_used(tmp_path: Path, postgres_url: str) -> None:
    home = tmp_path / "home"
    upgrade = Case({"BG_AGENTS_DATABASE_URL": postgres_url}, args=("db", "upgrade"))
    assert _run(upgrade, tmp_path, home).returncode == 0
    proc = _run(Case({"BG_AGENTS_DATABASE_URL": postgres_url}, code=0), tmp_path, home)
    assert proc.returncode == 0, proc.stderr
    assert '"teams": 0' in proc.stdout
    assert not (home / "app.db").exists()  # the URL, not the home's SQLite file, was used


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_named(tmp_path: Path, postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/bg_agents_no_such_database"
    proc = _run(Case({"BG_AGENTS_DATABASE_URL": missing}), tmp_path, tmp_path / "home")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 2
    assert "cannot connect to the database" in proc.stderr
    assert "bg_agents_no_such_database" in proc.stderr
