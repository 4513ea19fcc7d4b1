"""The `bg-agents` commands a newcomer runs: demo (twice), stats, teams, and clear errors."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

BIN = Path(sys.executable).with_name("bg-agents")


def run(args: list[str], home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BG_AGENTS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("BG_AGENTS_DATABASE_URL", None)
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.integration
def test_demo_fills_an_empty_home_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run(["demo", "--teams", "2", "--weeks", "2"], home)
    assert "[2/2] daily" in first.stdout and "[2/2] weekly" in first.stdout
    assert "[model] match_model" in first.stdout and "(new)" in first.stdout
    assert "make dev" in first.stdout
    _partitions_follow_the_data_and_runs_are_the_locations_jobs(home)
    # One team's SIMULATED invoices give a reminder of every kind at its latest 09:00.
    (line,) = [x for x in first.stdout.splitlines() if x.startswith("[reminders]")]
    for kind in ("due_soon", "overdue_1", "overdue_7", "overdue_14", "overdue_30"):
        assert f"{kind} " in line, line
    assert "customer reminders queued 3" in line and "upcoming notices 0" not in line, line
    stats = json.loads(run(["stats", "--json"], home).stdout)
    assert stats["teams"] == 2 and stats["transactions"] > 0
    assert stats["weekly_metrics"] == 4  # 2 teams x 2 weeks
    assert stats["unmatched_records"] > 0
    assert stats["insights"] == 2  # the last week, one per team
    assert set(stats) >= {"notifications", "llm_calls", "insights", "quarantined_rows"}
    assert stats["reminders"] >= 5 + 3  # five team reminders and three customer e-mails queued

    # The last full month's reports, when a month has ended since the demo's first week (with
    # two weeks of history, that depends on today's date).
    (line,) = [x for x in first.stdout.splitlines() if x.startswith("[reports]")]
    month_reported = "[reports] month" in line
    if month_reported:
        assert "2 written" in line, line
        assert Path(line.rsplit("open one: ", 1)[1]).read_bytes().startswith(b"%PDF")
        assert stats["reports"] == 2
    else:
        assert "none to write yet" in line and stats["reports"] == 0

    second = run(["demo", "--teams", "2", "--weeks", "2"], home)
    # 2 daily, the match model, 2 weekly, insights, reminders (and the reports)
    assert second.stdout.count("already materialized") == 7 + month_reported
    assert "(0 new rows" in second.stdout
    assert json.loads(run(["stats", "--json"], home).stdout) == stats

    teams = json.loads(run(["teams", "--json"], home).stdout)
    assert len(teams) == 2 and all("/" in t["time_zone"] for t in teams)
    table = run(["teams"], home).stdout
    assert teams[0]["slug"] in table and teams[0]["time_zone"] in table


def _partitions_follow_the_data_and_runs_are_the_locations_jobs(home: Path) -> None:
    """After the demo: its first week is the recorded history start (what `make dev` reads), the
    days of its weeks are each materialized with that day's own row count, and every run is a
    run of a job the code location has, tagged as the demo's."""
    import dagster as dg

    from bg_agents.lib.weeks import last_complete_week

    first = last_complete_week(date.today()) - timedelta(weeks=1)  # --weeks 2
    assert (home / "history_start").read_text().strip() == first.isoformat()
    db = sqlite3.connect(home / "app.db")
    per_day = dict(db.execute("SELECT booking_date, count(*) FROM transactions GROUP BY 1"))
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
        assert runs and {r.job_name for r in runs} == {
            "daily_ingest_job", "match_model_job", "__ASSET_JOB"
        }  # fmt: skip
        assert all(r.tags.get("bg_agents/launched_by") == "demo" for r in runs)
        # Each run names its code location, which the UI needs to re-execute it.
        assert {r.remote_job_origin.location_name for r in runs if r.remote_job_origin} == {
            "bg_agents"
        } and all(r.remote_job_origin for r in runs)
        day = (first + timedelta(days=3)).isoformat()
        event = instance.get_latest_materialization_event(dg.AssetKey("transactions"))
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("transactions"), asset_partitions=[day]),
            limit=1,
        ).records
        assert event is not None and records
        row_count = records[0].asset_materialization.metadata["dagster/row_count"].value
        assert row_count == per_day[day] > 0
        assert min(instance.get_materialized_partitions(dg.AssetKey("transactions"))) == (
            first.isoformat()
        )
    # A new process on this home (`make dev`'s UI and daemon) has partitions from that week on:
    # nothing grey before the data.
    env = {**os.environ, "BG_AGENTS_HOME": str(home)}
    env.pop("BG_AGENTS_HISTORY_START", None)
    code = (
        "from bg_agents.defs._shared.partitions import daily_partitions as d, weekly_partitions "
        "as w; print(d.get_first_partition_key(), w.get_first_partition_key())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == [first.isoformat(), first.isoformat()], out.stderr


def test_stats_on_an_empty_home_says_how_to_migrate(tmp_path: Path) -> None:
    proc = run(["stats"], tmp_path / "home", check=False)
    assert proc.returncode == 2
    assert "bg-agents db upgrade" in proc.stderr


def test_bad_arguments_are_refused_with_a_message(tmp_path: Path) -> None:
    proc = run(["seed", "--teams", "0"], tmp_path / "home", check=False)
    assert proc.returncode == 2 and "must be at least 1" in proc.stderr


@pytest.mark.integration
def test_insights_generate_prints_a_stored_week_and_says_why_a_week_has_none(
    tmp_path: Path,
) -> None:
    """The demo stored every week's insight: asking again shows it, not a crash. The clock is
    pinned to a Wednesday, so the week's delivery (Monday 07:00 local) has been decided in every
    zone, whatever day the suite runs on."""
    home = tmp_path / "home"

    def pinned(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = run_with(args, home, BG_AGENTS_NOW="2026-11-25T12:00:00+00:00")
        assert not check or proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    pinned(["demo", "--teams", "1", "--weeks", "1"])
    (team,) = json.loads(pinned(["teams", "--json"]).stdout)
    slug = team["slug"]
    with sqlite3.connect(home / "app.db") as conn:
        ((week, stored),) = conn.execute("SELECT week_start, content FROM insights").fetchall()
    assert week == "2026-11-16"

    again = pinned(["insights", "generate", "--team", slug, "--week", week])
    assert again.stdout.strip() == stored.strip()
    assert "--force regenerates it" in again.stderr and "Traceback" not in again.stderr

    empty = pinned(["insights", "generate", "--team", slug, "--week", "2025-01-06"], check=False)
    assert empty.returncode == 1 and "Traceback" not in empty.stderr
    assert empty.stderr.startswith("bg-agents: error: ")
    assert "has no weekly metrics" in empty.stderr and len(empty.stderr.splitlines()) == 1

    forced = pinned(["insights", "generate", "--team", slug, "--week", week, "--force"])
    assert forced.stdout.strip() and "--force regenerates" not in forced.stderr


def test_commands_say_in_one_line_when_the_database_is_unreachable(tmp_path: Path) -> None:
    """demo and seed open the database themselves: they must report it like the others do."""
    env_url = "postgresql://postgres:pw@127.0.0.1:1/none"
    for args in (["demo", "--teams", "1", "--weeks", "1"], ["seed"], ["teams"], ["stats"]):
        proc = run_with(args, tmp_path / "home", BG_AGENTS_DATABASE_URL=env_url)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, args
        assert proc.stderr.startswith("bg-agents: error: cannot connect to the database"), args
        assert "pw@" not in proc.stderr


def test_a_corrupt_database_file_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "app.db").write_text("this is not a database\n" * 100)
    proc = run(["stats"], home, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot connect to the database" in proc.stderr


def run_with(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "BG_AGENTS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), **env}
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(BIN), *args], env=full, capture_output=True, text=True, timeout=120)


@pytest.mark.integration
@pytest.mark.parametrize("status", ["generated", "delivered"])
def test_insights_generate_force_on_a_week_left_out_of_metrics_says_so_and_keeps_the_insight(
    engine, app_env, capsys, status: str
) -> None:  # type: ignore[no-untyped-def]
    """A team whose totals cannot be stored has no weekly_metrics row that week, but still its
    old insight: --force used to print that insight, exit 0 and say "--force regenerates it"."""
    from datetime import date
    from decimal import Decimal

    import sqlalchemy as sa

    from bg_agents.cli import main
    from bg_agents.defs.metrics.service import build_weekly_metrics
    from bg_agents.lib.db.models import Insight, Team, Transaction, WeeklyMetric

    monday, huge = date(2026, 3, 2), Decimal("9999999999999")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            [
                {"slug": s, "name": s, "time_zone": "UTC", "base_currency": "EUR"}
                for s in ("hostile", "normal", "late")
            ],
        )
        ids = dict(conn.execute(sa.select(Team.slug, Team.id)).all())
        rows = [(ids["hostile"], str(huge)) for _ in range(100)] + [(ids["normal"], "-12.34")]
        conn.execute(
            sa.insert(Transaction),
            [
                {
                    "team_id": team_id,
                    "source": "t",
                    "external_id": str(n),
                    "booking_date": date(2026, 3, 3),
                    "amount": Decimal(amount),
                    "currency": "EUR",
                    "base_amount": Decimal(amount),
                    "description": "",
                }
                for n, (team_id, amount) in enumerate(rows)
            ],
        )
        conn.execute(
            sa.insert(Insight),
            [
                {
                    "team_id": ids[slug],
                    "week_start": monday,
                    "content": f"- the old insight of {slug}",
                    "status": status,
                    "path": "llm",
                    "facts": {},
                    "model": "m",
                }
                for slug in ("hostile", "late")
            ],
        )
    assert build_weekly_metrics(engine, monday).overflowed_teams == ("hostile",)
    with engine.begin() as conn:  # "late" arrived after the week was computed
        conn.execute(sa.delete(WeeklyMetric).where(WeeklyMetric.team_id == ids["late"]))

    def generate(slug: str, *force: str) -> tuple[int, str, str]:
        code = main(["insights", "generate", "--team", slug, "--week", "2026-03-04", *force])
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    for slug, why in (("hostile", "900 trillion"), ("late", "materialize weekly_metrics")):
        code, out, err = generate(slug, "--force")
        assert code == 1 and out == "" and len(err.splitlines()) == 1, err
        assert "no insight was regenerated" in err and "although --force was given" in err
        assert "has no weekly metrics" in err and why in err and "is unchanged" in err
        assert "--force regenerates" not in err

        # Without --force the stored insight is printed, with why it was not regenerated.
        code, out, err = generate(slug)
        assert code == 0 and out.strip() == f"- the old insight of {slug}"
        assert "not regenerated" in err and why in err and "--force regenerates" not in err

    with engine.connect() as conn:
        kept = conn.execute(sa.select(Insight.content, Insight.status)).all()
    assert sorted(kept) == [(f"- the old insight of {s}", status) for s in ("hostile", "late")]


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """`bg-agents review --team T | head`: when the pipe's reader goes away the command stops
    with the shell's SIGPIPE status and says nothing (it is not an error of the user's)."""
    script = (
        "import sys\n"
        "import bg_agents.cli.match as command\n"
        "def flood(args):\n"
        "    for i in range(200_000):\n"
        "        print('row', i)\n"
        "    return 0\n"
        "command.cmd_match = flood  # a command with far more output than a pipe holds\n"
        "from bg_agents.cli.main import console\n"
        "sys.argv = ['bg-agents', 'match', '--left', 'a', '--right', 'b', '--out', 'c']\n"
        "console()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b"row 0\nrow "
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert stderr == ""


@pytest.mark.parametrize("zone", ["Australia/Lord_Howe", "Asia/Kathmandu", "UTC"])
def test_delivery_preview_columns_line_up_whatever_the_zones_name(
    zone: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bg_agents.cli import main

    assert (
        main(["deliveries", "preview", "--tz", zone, "--from", "2026-03-23", "--weeks", "3"]) == 0
    )
    header, *rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 3
    for column in ("due (local)", "due (UTC)", "slot"):
        at = header.index(column)
        assert all(row[at - 2 : at] == "  " and row[at] != " " for row in rows), (column, rows)


def test_a_broken_pipe_that_is_not_the_output_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A webhook's socket closing mid-write is no reader going away: it is reported (and the
    handler copes with output that has no file descriptor, as under capture here)."""
    import bg_agents.cli.match as command
    from bg_agents.cli import main

    def broken(args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(command, "cmd_match", broken)
    assert main(["match", "--left", "a", "--right", "b", "--out", "c"]) == 2
    assert capsys.readouterr().err == "bg-agents: error: Broken pipe\n"
