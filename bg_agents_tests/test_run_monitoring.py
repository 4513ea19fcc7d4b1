"""A run whose process was killed (kill -9) does not stay STARTED: the daemon marks it failed.

With the default run launcher, the code server that launched a run fails it when its process
dies (``test_real_processes.py`` shows it); a run started with no code server watching it (here:
a plain process, as after a lost machine) is ended by the instance's
``run_monitoring.max_runtime_seconds``. These tests kill such a run's process and call Dagster's
own run-monitoring iteration (what ``dagster-daemon`` runs every poll) on an instance configured
from the project's ``dagster.yaml`` files.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time
from dagster._core.workspace.load_target import EmptyWorkspaceTarget
from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration

ROOT = Path(__file__).resolve().parents[1]

# A job whose only step says it started, then works for longer than the test lives.
WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import dagster as dg

    @dg.op
    def long_step() -> None:
        Path(sys.argv[1]).write_text("started")
        time.sleep(120)

    @dg.job
    def long_job() -> None:
        long_step()

    with dg.DagsterInstance.get() as instance:
        long_job.execute_in_process(instance=instance)
    """
)


def _kill_a_started_run(home: Path) -> None:
    """Start a run in its own process and kill -9 it while its step is running."""
    marker = home / "started"
    script = home / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    worker = subprocess.Popen([sys.executable, str(script), str(marker)], env=env)
    try:
        deadline = time.monotonic() + 40
        while not marker.exists():
            assert worker.poll() is None, "the run process ended before its step started"
            assert time.monotonic() < deadline, "the run process never started its step"
            time.sleep(0.1)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL


def _monitor_once(instance: dg.DagsterInstance) -> None:
    """One poll of the daemon's run monitoring, as ``dagster-daemon`` runs it."""
    logger = logging.getLogger("run_monitoring_test")
    with create_test_daemon_workspace_context(EmptyWorkspaceTarget(), instance) as context:
        errors = [e for e in execute_run_monitoring_iteration(context, logger) if e is not None]
    assert errors == []


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_a_killed_run_is_marked_failed_by_run_monitoring(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.local.yaml", home / "dagster.yaml")
    _kill_a_started_run(home)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled
        limit = instance.run_monitoring_max_runtime_seconds
        assert limit > 0, "without max_runtime_seconds a dead run stays STARTED forever"
        (record,) = instance.get_run_records()
        run_id = record.dagster_run.run_id
        assert record.dagster_run.status == dg.DagsterRunStatus.STARTED  # the process is gone

        _monitor_once(instance)  # within the limit nothing can tell it from a slow run
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED

        assert record.start_time is not None
        with freeze_time(record.start_time + limit + 1):
            _monitor_once(instance)
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        messages = [e.message or "" for e in instance.all_logs(run_id)]
        assert any(f"maximum runtime of {limit} seconds" in m for m in messages)


@pytest.mark.parametrize("config", ["dagster.local.yaml", "deploy/dagster.yaml"])
def test_both_instance_configs_bound_a_runs_lifetime(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local and production instances both end dead runs, and Dagster accepts their settings."""
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    for name in ("HOST", "PORT", "DB", "USER", "PASSWORD"):  # deploy/dagster.yaml reads these
        monkeypatch.setenv(f"DAGSTER_PG_{name}", "5432" if name == "PORT" else "x")

    raw = yaml.safe_load((ROOT / config).read_text())
    result = process_config(dg.Shape(dagster_instance_config_schema()), raw)
    assert result.success, result.errors
    monitoring = raw["run_monitoring"]
    assert monitoring["enabled"] is True
    assert 0 < monitoring["max_runtime_seconds"] <= 24 * 3600
    assert monitoring["poll_interval_seconds"] < monitoring["max_runtime_seconds"]
    assert raw["run_retries"]["enabled"] is True  # a run failed this way is retried
