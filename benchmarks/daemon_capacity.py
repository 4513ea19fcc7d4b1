"""Benchmark: what one ``dagster-daemon`` with the default run launcher sustains, and how long the
sensors that scan teams take to evaluate at 10,000 teams.

    python benchmarks/daemon_capacity.py [--runs 40] [--teams 10000] [--only runs|sensors]

* ``runs``: the production pair (``dagster-webserver`` + ``dagster-daemon`` on PostgreSQL from
  ``deploy/dagster.yaml``, started by ``bg_agents_tests/processes.py``, every sensor stopped) gets
  ``--runs`` runs of ``stage_import_file_job`` queued at once through GraphQL, each staging a file
  that is already gone (one step that logs a warning: the cheapest run of a project job, so the
  number is the launcher's and the daemon's cost, not the work's). The QueuedRunCoordinator of
  ``deploy/dagster.yaml`` (``max_concurrent_runs: 16``) dequeues them; every run is a process
  (and, with the default multiprocess executor, one more for its step). Printed: runs per minute
  from the first run's start to the last run's end, and the median queued-to-finished time.
* ``sensors``: a PostgreSQL application database with ``--teams`` SIMULATED teams in fourteen
  time zones (``benchmarks/reminders.py``'s bulk seeding: members, five customers and five open
  invoices each), then each sensor that reads teams is evaluated in this process with
  ``dg.build_sensor_context`` as the daemon's code server would (cursor: a tick one minute ago;
  an empty ephemeral Dagster instance). Printed: median milliseconds per evaluation and the ratio
  to Dagster's 60 s sensor timeout. The daemon's own overhead per tick (a gRPC call to the code
  server, storing the tick) comes on top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest_and_metrics import PG_ADMIN, machine  # noqa: E402
from benchmarks.reminders import build  # noqa: E402
from bg_agents.defs._shared.resources import AppDatabase  # noqa: E402
from bg_agents.defs.insights.sensors import insight_delivery_sensor  # noqa: E402
from bg_agents.defs.monitoring.sensors import freshness_sensor  # noqa: E402
from bg_agents.defs.notifications.sensors import notification_sensor  # noqa: E402
from bg_agents.defs.reminders.sensors import (  # noqa: E402
    customer_reminder_retry_sensor,
    reminder_sensor,
)
from bg_agents.defs.reports.sensors import month_end_report_sensor  # noqa: E402
from bg_agents.lib.db import migrate  # noqa: E402
from bg_agents.lib.db.engine import get_engine, temporary_database  # noqa: E402
from bg_agents_tests.processes import DagsterProcesses, dagster_processes, wait_for  # noqa: E402

SENSOR_TIMEOUT = 60.0  # seconds: Dagster's default limit for one sensor evaluation
SENSORS = [
    insight_delivery_sensor,
    reminder_sensor,
    customer_reminder_retry_sensor,
    notification_sensor,
    freshness_sensor,
    month_end_report_sensor,
]


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def stop_all_sensors(dagster: DagsterProcesses) -> None:
    for name, status in dagster.graphql.sensors().items():
        if status == "RUNNING":
            dagster.graphql.stop_sensor(name)


def runs_per_minute(count: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        dagster_processes(PG_ADMIN, Path(tmp), before_daemon=stop_all_sensors) as dagster,
    ):
        graphql = dagster.graphql
        config = {"ops": {"stage_import_file": {"config": {"path": f"{tmp}/gone.csv"}}}}
        queued_at = {}
        for _ in range(count):
            run_id = graphql.launch_run("stage_import_file_job", run_config=config)
            queued_at[run_id] = time.time()
        progress(f"queued {count} runs")

        def finished() -> list[dict] | None:
            runs = [graphql.run(r) for r in queued_at]
            done = [r for r in runs if r["status"] in {"SUCCESS", "FAILURE", "CANCELED"}]
            progress(f"  {len(done)}/{count} finished")
            return runs if len(done) == count else None

        runs = wait_for(finished, 60 * 30, "every benchmark run finishing", every=5)
    failed = [r["runId"] for r in runs if r["status"] != "SUCCESS"]
    first_start = min(r["startTime"] for r in runs)
    last_end = max(r["endTime"] for r in runs)
    span = last_end - first_start
    latency = statistics.median(r["endTime"] - queued_at[r["runId"]] for r in runs)
    duration = statistics.median(r["endTime"] - r["startTime"] for r in runs)
    print(f"runs: {count} of stage_import_file_job, queued at once through GraphQL")
    print(f"  failed: {len(failed)}")
    print(f"  first start -> last end: {span:.1f} s = {count / span * 60:.1f} runs/minute")
    print(
        f"  median queued -> finished: {latency:.1f} s; median run (start -> end): {duration:.1f} s"
    )


def _evaluate(sensor: dg.SensorDefinition, url: str, repeat: int) -> float:
    """Median seconds of ``repeat`` evaluations (after one warm-up), each a fresh tick context."""
    samples = []
    with dg.DagsterInstance.ephemeral() as instance:
        for n in range(repeat + 1):
            cursor = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
            context = dg.build_sensor_context(
                instance=instance,
                cursor=cursor,
                resources={"app_db": AppDatabase(url=url)},
            )
            t0 = time.perf_counter()
            sensor(context)
            if n:
                samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def sensor_times(teams: int, repeat: int) -> None:
    with temporary_database(PG_ADMIN, "bg_agents_bench_daemon") as url:
        engine = get_engine(url)
        migrate.upgrade(engine)
        t0 = time.perf_counter()
        world = build(engine, teams, 5, seed=11)
        progress(f"seeded {teams} teams in {time.perf_counter() - t0:.0f} s")
        print(f"sensors: {teams:,} teams, {world['invoices']:,} open invoices, PostgreSQL")
        for sensor in SENSORS:
            seconds = _evaluate(sensor, url, repeat)
            share = seconds / SENSOR_TIMEOUT
            print(f"  {sensor.name:32} {seconds * 1000:8.1f} ms/evaluation ({share:.2%} of 60 s)")
        get_engine.cache_clear()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["runs", "sensors"])
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    steps: list[Callable[[], None]] = []
    if args.only in (None, "sensors"):
        steps.append(lambda: sensor_times(args.teams, args.repeat))
    if args.only in (None, "runs"):
        steps.append(lambda: runs_per_minute(args.runs))
    for step in steps:
        step()
    # Other processes on the machine slow the runs: the load says how busy it was.
    print("load average (1, 5, 15 min): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
