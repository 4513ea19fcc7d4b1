"""Runs beyond one machine: a backfill's steps executed by two Celery workers over RabbitMQ.

The project's code location with ``BG_AGENTS_EXECUTOR=celery`` (bg_agents/definitions.py) sends
every step to the broker; two worker processes started as deploy/README.md says (dagster-celery's
app, ``deploy/dagster_celery_config.py`` on the path, one process each) execute them. Runs and
workers share the production instance configuration (deploy/dagster.yaml on PostgreSQL): a step
in another process, or on another machine, writes its events there. Each test run uses a queue of
its own, so a stray worker on this broker can never take its steps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine, temporary_database
from bg_agents.lib.db.models import Base
from bg_agents.lib.settings import DEFAULT_CELERY_BROKER_URL
from bg_agents_tests import helpers

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Four booking days of the seeded world, one run each, launched at once: the shape of a backfill of
# an asset without a single-run policy (transactions has one; runs are launched per day here so
# that several runs' steps compete for the two workers).
DAYS = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
# Columns whose values depend on when or in which order rows were written, not on what was done.
UNORDERED = helpers.VOLATILE | {"id"}


@pytest.fixture
def broker_url() -> str:
    """The RabbitMQ the workers use; missing, the test skips, or fails in CI."""
    from kombu import Connection

    url = os.environ.get("BG_AGENTS_CELERY_BROKER_URL") or DEFAULT_CELERY_BROKER_URL
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # any transport error means "no broker here"
        reason = f"the Celery broker at {url} is unreachable ({type(exc).__name__})"
        if os.environ.get("BG_AGENTS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and BG_AGENTS_REQUIRE_POSTGRES=1 forbids skipping")
        pytest.skip(reason)
    return url


@pytest.fixture
def queue(broker_url: str) -> Iterator[str]:
    """A queue for this test alone, deleted afterwards (Celery declares it durable)."""
    from kombu import Connection

    name = f"bg-agents-test-{uuid.uuid4().hex[:12]}"
    yield name
    with Connection(broker_url, connect_timeout=3) as conn:
        channel = conn.default_channel
        channel.queue_delete(name)
        channel.exchange_delete(name)


def _seeded(url: str) -> sa.Engine:
    engine = get_engine(url)
    migrate.upgrade(engine)
    helpers.seed(engine, teams=3, weeks=1)
    return engine


def _rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every application table's rows without ids and timestamps, sorted: concurrent runs insert
    in any order, so ids differ between two equal results."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name not in UNORDERED]
            rows = conn.execute(sa.select(*cols)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def _start_worker(name: str, queue: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """One worker as deploy/README.md starts it: one step at a time, this test's queue only."""
    command = [str(BIN / "celery"), "-A", "dagster_celery.app", "worker", "-Q", queue, "-n", name]
    command += ["--concurrency", "1", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
    with log.open("w") as out:
        # Its own process group, so stopping it also reaches its pool's child process.
        return subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_until_ready(workers: dict[str, subprocess.Popen], logs: dict[str, Path]) -> None:
    deadline = time.monotonic() + 60
    waiting = set(workers)
    while waiting:
        for name in list(waiting):
            assert workers[name].poll() is None, f"{name} exited:\n{logs[name].read_text()}"
            if f"{name} ready." in logs[name].read_text():
                waiting.discard(name)
        assert time.monotonic() < deadline, f"not ready in 60 s: {sorted(waiting)}"
        time.sleep(0.2)


def _stop(workers: dict[str, subprocess.Popen]) -> None:
    """Warm shutdown (SIGTERM), then SIGKILL for whatever is left of the worker's group."""
    for worker in workers.values():
        if worker.poll() is None:
            worker.terminate()
    for worker in workers.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):  # the group this test created for it
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def _instance_env(tmp_path: Path, admin_url: str, dagster_db: str) -> dict[str, str]:
    """DAGSTER_HOME with the production dagster.yaml, its DAGSTER_PG_* pointing at dagster_db."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    url = sa.engine.make_url(admin_url)
    return {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_DB": dagster_db,
        "DAGSTER_PG_USER": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
    }


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_a_backfill_runs_its_steps_on_two_celery_workers(
    tmp_path: Path,
    postgres_admin_url: str,
    broker_url: str,
    queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with (
        temporary_database(postgres_admin_url, "bg_agents_dagster") as dagster_url,
        temporary_database(postgres_admin_url, "bg_agents_celery_app") as app_url,
        temporary_database(postgres_admin_url, "bg_agents_inprocess_app") as reference_url,
    ):
        instance_env = _instance_env(
            tmp_path, postgres_admin_url, sa.engine.make_url(dagster_url).database or ""
        )
        for name, value in instance_env.items():
            monkeypatch.setenv(name, value)
        # The instance's tables, made once here, before runs and workers start at the same time.
        with dg.DagsterInstance.get():
            pass
        _seeded(app_url)
        env = {
            **os.environ,
            **instance_env,
            "BG_AGENTS_HOME": str(tmp_path / "home"),
            "BG_AGENTS_DATABASE_URL": app_url,
            "BG_AGENTS_EXECUTOR": "celery",
            "BG_AGENTS_CELERY_BROKER_URL": broker_url,
            "BG_AGENTS_CELERY_QUEUE": queue,
            "PYTHONPATH": str(ROOT / "deploy"),  # dagster_celery_config, read by the workers
        }
        suffix = uuid.uuid4().hex[:6]
        names = [f"bg-agents-a-{suffix}@test", f"bg-agents-b-{suffix}@test"]
        logs = {name: tmp_path / f"{name}.log" for name in names}
        workers: dict[str, subprocess.Popen] = {}
        try:
            for name in names:
                workers[name] = _start_worker(name, queue, env, logs[name])
            _wait_until_ready(workers, logs)
            # The backfill: one run per day, all at once.
            runs = [
                subprocess.Popen(
                    [str(BIN / "dagster"), "asset", "materialize", "-m", "bg_agents.definitions"]
                    + ["--select", "transactions", "--partition", day],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for day in DAYS
            ]
            for run in runs:
                output, _ = run.communicate(timeout=150)
                assert run.returncode == 0, output[-3000:]
        finally:
            _stop(workers)

        with dg.DagsterInstance.get() as instance:
            records = instance.get_run_records()
            assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == DAYS
            ran_on: dict[tuple[str, str], str] = {}  # (run, step) -> the worker that ran it
            for record in records:
                run_id = record.dagster_run.run_id
                assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
                # dagster-celery's task reports the worker's name when it starts a step.
                for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                    data = event.dagster_event.engine_event_data
                    if data and "Celery worker" in data.metadata:
                        ran_on[(run_id, event.step_key)] = data.metadata["Celery worker"].value
                succeeded = {
                    (run_id, e.step_key)
                    for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
                }
                assert (run_id, "transactions") in succeeded
                assert succeeded <= ran_on.keys(), "a step ran outside the Celery workers"
        assert set(ran_on.values()) == set(names), ran_on

        # The same days materialized in this process, on a database seeded alike.
        reference = _seeded(reference_url)
        result = helpers.materialize(reference_url, ["transactions"], DAYS[0])
        for day in DAYS[1:]:
            assert result.success
            result = helpers.materialize(reference_url, ["transactions"], day)
        assert result.success
        through_celery = _rows(get_engine(app_url))
        assert through_celery["transactions"], "the backfill stored no transactions"
        assert through_celery == _rows(reference)
