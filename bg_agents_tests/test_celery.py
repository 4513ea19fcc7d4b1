"""Runs beyond one machine: a Dagster backfill whose runs' steps two Celery workers execute.

What an operator does, for real: ``dagster-webserver`` and ``dagster-daemon`` on PostgreSQL from
deploy/dagster.yaml (bg_agents_tests/processes.py), the code location with
``BG_AGENTS_EXECUTOR=celery`` (bg_agents/definitions.py), so every step goes to RabbitMQ, and two
worker processes started as deploy/README.md says (dagster-celery's app,
``deploy/dagster_celery_config.py`` on the path, one step at a time each). The backfill is
requested through GraphQL ``launchPartitionBackfill``, the UI's "Materialize" over a partition
selection, and the daemon's BACKFILL loop launches its runs.

The asset is ``weekly_metrics`` over three weeks: it has no single-run backfill policy, so the
backfill is one run per week (``transactions`` would be one run for all its days). Its input, the
weeks' transactions, is ingested while the application database is seeded (the function the
``transactions`` asset calls), so the backfill is all the daemon runs. Each test run uses a queue
of its own, so a stray worker on this broker can never take its steps.

Test-only timing: the backfill is requested before the daemon starts (the daemon's BACKFILL loop
runs every 30 s, fixed in Dagster; its first iteration at start-up picks the backfill up at once)
and the run queue is read every second (Dagster's default 5 s). About a minute in all, most of it
Python processes starting on two cores; the backfill is COMPLETED_SUCCESS at the loop's next
iteration after its runs end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine, temporary_database
from bg_agents.lib.db.models import Base
from bg_agents.lib.settings import DEFAULT_CELERY_BROKER_URL
from bg_agents_tests import helpers
from bg_agents_tests.processes import DagsterProcesses, dagster_processes, wait_for

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSET = "weekly_metrics"
# The Mondays of the seeded world's three weeks (it ends on helpers.WORLD_END, a Sunday).
WEEKS = [(helpers.WORLD_END - timedelta(days=7 * k + 6)).isoformat() for k in (2, 1, 0)]
# The default-on schedule; every default-on sensor is stopped too (see _before_the_daemon).
SCHEDULE = "hourly_ingest_schedule"
DAEMONS = ("SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR", "BACKFILL")
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
    """The seeded world with every day of its weeks ingested: what weekly_metrics reads."""
    engine = get_engine(url)
    migrate.upgrade(engine)
    helpers.seed(engine, teams=3, weeks=len(WEEKS))
    day = date.fromisoformat(WEEKS[0])
    while day <= helpers.WORLD_END:
        ingest_day(engine, day)
        day += timedelta(days=1)
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


def _before_the_daemon(
    queue: str, workers: dict[str, subprocess.Popen], backfill: dict[str, str]
) -> Callable[[DagsterProcesses], None]:
    def prepare(dagster: DagsterProcesses) -> None:
        """Stop what is on by default (sensors, the hourly schedule): their runs are not under
        test and would compete for the two workers. Start the workers with the processes'
        environment (same instance, same app database), then request the backfill."""
        graphql = dagster.graphql
        for name, status in graphql.sensors().items():
            if status == "RUNNING":
                graphql.stop_sensor(name)
        graphql.stop_schedule(SCHEDULE)
        env = {**dagster.env, "PYTHONPATH": str(ROOT / "deploy")}  # dagster_celery_config
        suffix = uuid.uuid4().hex[:6]
        logs = {}
        for name in (f"bg-agents-a-{suffix}@test", f"bg-agents-b-{suffix}@test"):
            logs[name] = dagster.home.parent / f"{name}.log"
            workers[name] = _start_worker(name, queue, env, logs[name])
        _wait_until_ready(workers, logs)
        backfill["id"] = graphql.launch_backfill([ASSET], WEEKS)

    return prepare


def _completed(dagster: DagsterProcesses, backfill_id: str) -> dict[str, Any] | None:
    """The backfill once COMPLETED_SUCCESS; any other final status fails at once."""
    backfill = dagster.graphql.backfill(backfill_id)
    if backfill["status"] in {"FAILED", "COMPLETED_FAILED", "CANCELED"}:
        raise AssertionError(f"the backfill ended {backfill['status']}: {backfill['error']}")
    return backfill if backfill["status"] == "COMPLETED_SUCCESS" else None


def _workers_by_step(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Each step of the run that succeeded, with the Celery worker that started it (dagster-celery
    records the worker's name in an engine event), or "" when none did."""
    started_on = {}
    for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = event.dagster_event.engine_event_data
        if data and "Celery worker" in data.metadata:
            started_on[event.step_key] = data.metadata["Celery worker"].value
    succeeded = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    return {e.step_key: started_on.get(e.step_key, "") for e in succeeded}


@pytest.mark.integration
@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_a_backfill_launched_through_graphql_runs_its_steps_on_two_celery_workers(
    tmp_path: Path, postgres_admin_url: str, broker_url: str, queue: str
) -> None:
    env = {
        "BG_AGENTS_EXECUTOR": "celery",
        "BG_AGENTS_CELERY_BROKER_URL": broker_url,
        "BG_AGENTS_CELERY_QUEUE": queue,
    }
    workers: dict[str, subprocess.Popen] = {}
    backfill: dict[str, str] = {}
    try:
        with dagster_processes(
            postgres_admin_url,
            tmp_path,
            env=env,
            instance_overrides={"run_queue": {"dequeue_interval_seconds": 1}},
            prepare_app_db=_seeded,
            before_daemon=_before_the_daemon(queue, workers, backfill),
            daemons=DAEMONS,
        ) as dagster:
            with dagster.logs_on_failure():
                done = wait_for(lambda: _completed(dagster, backfill["id"]), 150, "the backfill")
            with dagster.instance() as instance:
                steps = {r["runId"]: _workers_by_step(instance, r["runId"]) for r in done["runs"]}
            through_celery = _rows(get_engine(dagster.app_db_url))
    finally:
        _stop(workers)

    # One run per week, each succeeded, all launched by the backfill.
    assert sorted(r["tags"]["dagster/partition"] for r in done["runs"]) == WEEKS
    assert {(r["status"], r["tags"]["dagster/backfill"]) for r in done["runs"]} == {
        ("SUCCESS", backfill["id"])
    }
    # Every run's steps (the asset's, and its freshness check's) succeeded on a Celery worker,
    # and both workers took steps.
    for run_id, on in steps.items():
        assert ASSET in on, f"run {run_id}: the steps that succeeded: {on}"
        assert set(on.values()) <= set(workers), f"run {run_id}: a step ran elsewhere: {on}"
    ran_on = {worker for on in steps.values() for worker in on.values()}
    assert ran_on == set(workers), steps

    # The same weeks materialized in this process, on a database seeded and ingested alike.
    with temporary_database(postgres_admin_url, "bg_agents_inprocess_app") as reference_url:
        reference = _seeded(reference_url)
        for week in WEEKS:
            assert helpers.materialize(reference_url, [ASSET], week).success
        assert through_celery[ASSET], "the backfill stored no weekly metrics"
        assert through_celery == _rows(reference)
