"""``bg-agents health``: the rules on plain facts, and the command against a real instance where
the daemon's sensor loop evaluated a deliberately broken sensor."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from bg_agents.cli.main import main
from bg_agents.defs.monitoring.health import InstigatorFacts, RunFact, Tick, assess

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _sensor(**changes: object) -> InstigatorFacts:
    facts = {
        "name": "s",
        "kind": "sensor",
        "running": True,
        "from_default": True,
        "interval": MINUTE,
        "ticks": [Tick(NOW - MINUTE, "skipped")],
        "runs": [],
    }
    return InstigatorFacts(**{**facts, **changes})  # type: ignore[arg-type]


def _runs(ok: int, failed: int) -> list[RunFact]:
    start = NOW - timedelta(hours=1)
    return [
        RunFact("success", start, start + timedelta(seconds=10 * (i + 1))) for i in range(ok)
    ] + [RunFact("failure", start, start + timedelta(seconds=5)) for _ in range(failed)]


def test_overdue_after_one_and_a_half_intervals_without_a_tick_or_success() -> None:
    assert assess([_sensor(ticks=[Tick(NOW - 89 * timedelta(seconds=1), "skipped")])], NOW).healthy
    late = assess([_sensor(ticks=[Tick(NOW - 91 * timedelta(seconds=1), "skipped")])], NOW)
    assert late.rows[0].overdue and late.exit_code == 1
    assert (
        "overdue: no tick or successful run for 91 s, expected every 60 s" in late.rows[0].problems
    )
    recent_success = _sensor(
        ticks=[Tick(NOW - timedelta(hours=1), "success")],
        runs=[RunFact("success", NOW - 2 * MINUTE, NOW - MINUTE)],
    )
    assert assess([recent_success], NOW).healthy, "a run that succeeded within the grace counts"
    stopped = _sensor(running=False, ticks=[Tick(NOW - timedelta(days=3), "failure", "boom")])
    assert assess([stopped], NOW).healthy, "stopped on purpose: neither overdue nor failing"


def test_failure_rate_above_the_threshold_and_durations() -> None:
    half = assess([_sensor(runs=_runs(ok=2, failed=2))], NOW)
    assert half.healthy, "50% is not above 50%"
    row = assess([_sensor(runs=_runs(ok=1, failed=2))], NOW).rows[0]
    assert row.problems == ["2 of its last 3 runs failed (67%, over 50%)"]
    durations = assess([_sensor(runs=_runs(ok=20, failed=0))], NOW).rows[0]
    assert (durations.p50_seconds, durations.p95_seconds) == (100.0, 190.0)
    assert assess([_sensor(runs=_runs(1, 2))], NOW, max_failure_rate=0.7).healthy


def test_no_history_is_said_and_is_not_a_failure() -> None:
    report = assess([_sensor(ticks=[]), _sensor(name="t", ticks=[])], NOW)
    assert (report.history, report.exit_code) == (False, 0)
    assert "no history yet" in report.render()


BROKEN_LOCATION = """
import dagster as dg

@dg.op
def hello() -> None:
    pass

@dg.job
def hello_job() -> None:
    hello()

RUNNING = dg.DefaultSensorStatus.RUNNING

@dg.sensor(job=hello_job, minimum_interval_seconds=60, default_status=RUNNING)
def broken_sensor(context):
    raise RuntimeError("cannot reach the bank feed")

@dg.sensor(job=hello_job, default_status=RUNNING)
def quiet_sensor(context):
    return dg.SkipReason("nothing to do")

@dg.schedule(job=hello_job, cron_schedule="0 * * * *")
def hourly(context):
    return dg.RunRequest()

defs = dg.Definitions(jobs=[hello_job], sensors=[broken_sensor, quiet_sensor], schedules=[hourly])
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def dagster_yaml(request: pytest.FixtureRequest) -> str:
    """The instance's storage: Dagster's SQLite default, or PostgreSQL (deploy/dagster.yaml's)."""
    config = "telemetry:\n  enabled: false\n"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        config += f"storage:\n  postgres:\n    postgres_url: {url}\n"
    return config


@pytest.fixture
def broken_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dagster_yaml: str):  # type: ignore[no-untyped-def]
    """DAGSTER_HOME whose instance holds one daemon pass over a location with a broken sensor;
    yields that location's Definitions."""
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import PythonFileTarget
    from dagster._daemon.sensor import execute_sensor_iteration

    code = tmp_path / "broken_location.py"
    code.write_text(BROKEN_LOCATION)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("BG_AGENTS_HOME", str(tmp_path / "app"))
    target = PythonFileTarget(
        python_file=str(code),
        attribute=None,
        working_directory=str(tmp_path),
        location_name="bg_agents",
    )
    with (
        dg.DagsterInstance.get() as instance,
        create_test_daemon_workspace_context(target, instance) as context,
    ):
        list(execute_sensor_iteration(context, logging.getLogger("test"), None, None))
    sys.path.insert(0, str(tmp_path))
    try:
        import broken_location  # type: ignore[import-not-found]

        monkeypatch.setattr("bg_agents.definitions.defs", broken_location.defs)
        yield broken_location.defs
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("broken_location", None)


def test_health_reports_a_broken_sensor_and_exits_1(broken_instance, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["health"]) == 1
    text = capsys.readouterr().out
    assert "broken_sensor: its last tick failed: RuntimeError: cannot reach the bank feed" in text
    assert "quiet_sensor:" not in text, "a sensor that skips is healthy"
    assert main(["health", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"checked_at", "healthy", "history", "instigators"}
    assert (report["healthy"], report["history"]) == (False, True)
    by_name = {i["name"]: i for i in report["instigators"]}
    assert set(by_name) == {"broken_sensor", "quiet_sensor", "hourly"}
    broken = by_name["broken_sensor"]
    assert set(broken) == {
        "name",
        "kind",
        "state",
        "interval_seconds",
        "last_tick",
        "last_success_at",
        "runs",
        "failure_rate",
        "duration_p50_seconds",
        "duration_p95_seconds",
        "overdue",
        "problems",
    }
    assert broken["state"] == "running (default)" and broken["interval_seconds"] == 60
    assert broken["last_tick"]["status"] == "failure"
    assert "cannot reach the bank feed" in broken["last_tick"]["error"]
    assert by_name["quiet_sensor"]["last_tick"]["status"] == "skipped"
    assert by_name["hourly"]["state"] == "stopped (default)"
    assert by_name["hourly"]["interval_seconds"] == 3600
