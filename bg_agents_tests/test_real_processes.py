"""The production pair, for real: ``dagster-webserver`` and ``dagster-daemon`` on PostgreSQL.

One pair serves the whole file (``bg_agents_tests/processes.py`` starts it from
``deploy/dagster.yaml``). Everything is observed through the webserver's GraphQL API, as an
operator's script would:

- a **sensor** (``import_folder_sensor``) sees a bank file dropped in a team's import folder,
  ticks in the daemon, and its run stages the file;
- a **schedule** (``hourly_ingest_schedule``, ``5 * * * *``) is ticked by the daemon's scheduler
  and its runs fetch the booking days still open and the never-fetched history;
- a run whose process is **killed with SIGKILL** mid-step is marked failed and retried exactly
  once by ``run_retries``, and the retry does the work.

The schedule's tick: waiting for the next HH:05 could take an hour, and moving the daemon's clock
does not work (libfaketime 0.9.10 makes Python's ``time.sleep`` fail with EINVAL when the
monotonic clock is left real, and sleep for the whole offset when it is faked). The test uses the
scheduler's own catch-up instead: a schedule that was running while no daemon ticked it (a deploy
or a crash over HH:05) has its missed tick launched by the daemon's first iteration, with the
missed cron time as its scheduled time. Before the daemon starts, the test starts the schedule
through GraphQL and moves its recorded start back before the last HH:05 (the one write GraphQL
does not offer, through the instance API on the same storage); the daemon then launches that
tick through the same code path as a tick on time.

The killed run: the default run launcher starts each run as a subprocess of the code server the
daemon talks to, and that server checks its runs' processes every half second, so a run worker
killed with SIGKILL is marked failed at once, with the signal in its log. The run monitoring of
``deploy/dagster.yaml`` (``max_runtime_seconds``) is the backstop for when that server is gone
too (a lost machine); ``test_run_monitoring.py`` drives that path with a frozen clock.

Test-only override of ``deploy/dagster.yaml``: the run queue is read every second (``run_queue``,
Dagster's default 5 s), so the file's runs start sooner. Other sensors on by default are stopped
before the daemon starts (see ``_before_the_daemon``). The file takes about 2-3 minutes: most of
it is Python processes starting (a run worker per run, one more per step) on two cores.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dagster._core.scheduler.instigation import InstigatorType, ScheduleInstigatorData

from bg_agents.defs.insights.facts import build_facts, fallback_text
from bg_agents.defs.insights.service import load_inputs, teams_in_slot
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import Insight, StagedImportRow, Team
from bg_agents.lib.delivery_slots import slot_for
from bg_agents.lib.weeks import last_complete_week
from bg_agents_tests.helpers import team_with_last_week_measured
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat, reply, slow
from bg_agents_tests.processes import (
    DagsterProcesses,
    dagster_processes,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(420)]

CSV = Path(__file__).parent / "ingestion" / "data" / "imports" / "clean.csv"
CSV_MONDAY = date(2026, 3, 2)  # clean.csv's rows are booked that Monday and the days after
SENSOR = "import_folder_sensor"
SCHEDULE = "hourly_ingest_schedule"
RANGE_START = "dagster/asset_partition_range_start"  # a run over a range of partitions


def _last_tick_before(timestamp: float) -> float:
    """The last HH:05:00 UTC (hourly_ingest_schedule's cron) at or before ``timestamp``."""
    tick = timestamp - timestamp % 3600 + 300
    return tick if tick <= timestamp else tick - 3600


class World:
    """What the fixture seeded: the team, the measured week its insight is generated for (the
    dropped file's rows are in the week after, so staging and insights never share a week), its
    insight slot, and the text the model answers."""

    history_start: date = date.min
    missed_tick: float = 0.0  # the HH:05 the schedule missed before the daemon started
    week: date = date.min
    slug: str = ""
    slot: str = ""
    good_text: str = ""


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as server:
        yield server


def _moved(day: str, monday: date) -> str:
    """A date of clean.csv's week, moved to the same weekday of ``monday``'s week."""
    offset = date.fromisoformat(day) - CSV_MONDAY
    return (monday + offset).isoformat() if timedelta(0) <= offset < timedelta(7) else day


def _before_the_daemon(world: World) -> Callable[[DagsterProcesses], None]:
    def prepare(dagster: DagsterProcesses) -> None:
        """Stop the other sensors that are on by default before the daemon's first tick: each
        run they would start (the staged file's booking days, reminders, automation) costs a
        2-core machine seconds of CPU and slows the runs under test, and none is asserted.
        Record the schedule (on by default) as started before its last HH:05."""
        graphql = dagster.graphql
        for name, status in graphql.sensors().items():
            if status == "RUNNING" and name != SENSOR:
                graphql.stop_sensor(name)
        assert {n for n, s in graphql.sensors().items() if s == "RUNNING"} == {SENSOR}
        assert graphql.instigator(SCHEDULE)["status"] == "RUNNING", "on by default"
        world.missed_tick = _last_tick_before(time.time())
        _start_schedule_before(dagster, SCHEDULE, started=world.missed_tick - 60)

    return prepare


@pytest.fixture(scope="module")
def dagster(
    postgres_admin_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    world: World,
    model: ScriptedOpenAI,
) -> Iterator[DagsterProcesses]:
    workdir = tmp_path_factory.mktemp("real_processes")
    # A short history, so the schedule's catch-up run of never-fetched days covers three weeks,
    # not every day since 2025; the seeded weeks are inside it.
    history_start = last_complete_week(datetime.now(UTC).date()) - timedelta(days=14)
    world.history_start = history_start

    def seed(url: str) -> None:
        engine = get_engine(url)
        world.slug, last_week = team_with_last_week_measured(engine, seed_value=7)
        world.week = last_week - timedelta(days=7)
        assert world.week >= history_start
        with engine.connect() as conn:
            zone = conn.scalar(sa.select(Team.time_zone).where(Team.slug == world.slug))
            world.slot = slot_for(world.week, zone)
            (team,) = teams_in_slot(conn, world.week, world.slot)
            inputs = load_inputs(conn, [team], world.week)[team.id]
        world.good_text = fallback_text(build_facts(inputs))
        inbox = workdir / "bg_agents_home" / "imports" / world.slug
        inbox.mkdir(parents=True)
        # Waiting for the sensor's first tick: clean.csv moved into the last complete week.
        text = re.sub(
            r"\d{4}-\d{2}-\d{2}",
            lambda m: _moved(m.group(), last_week),
            CSV.read_text(),
        )
        (inbox / CSV.name).write_text(text)

    env = {
        "BG_AGENTS_HISTORY_START": history_start.isoformat(),
        "BG_AGENTS_LLM_BACKEND": "openai",
        "BG_AGENTS_LLM_BASE_URL": model.base_url,
        "BG_AGENTS_LLM_API_KEY": "test",
        "BG_AGENTS_LLM_MAX_RETRIES": "0",
        "BG_AGENTS_LLM_TIMEOUT": "120",  # the held answer ends with the kill, not a timeout
    }
    overrides = {"run_queue": {"dequeue_interval_seconds": 1}}
    with dagster_processes(
        postgres_admin_url,
        workdir,
        env=env,
        instance_overrides=overrides,
        prepare_app_db=seed,
        before_daemon=_before_the_daemon(world),
    ) as processes:
        yield processes


def _tick_with_runs(dagster: DagsterProcesses, name: str) -> dict[str, Any] | None:
    """The newest tick of ``name`` that launched runs; a failed tick fails the test at once."""
    ticks = dagster.graphql.instigator(name)["ticks"]
    for tick in ticks:
        assert tick["status"] != "FAILURE", f"{name} tick failed: {tick['error']}"
        if tick["status"] == "SUCCESS" and tick["runIds"]:
            return tick
    return None


def _start_schedule_before(dagster: DagsterProcesses, name: str, started: float) -> None:
    """Start the schedule through GraphQL, then record its start at ``started`` (in the past).

    Called before the daemon starts, so the daemon's first look at the schedule already sees the
    earlier start, as it would after being down over a tick."""
    # On by default, the schedule has no stored state to edit: stopping and starting it through
    # the UI's mutations stores one, as a person toggling it would.
    dagster.graphql.stop_schedule(name)
    dagster.graphql.start_schedule(name)
    with dagster.instance() as instance:
        (state,) = [
            s
            for s in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
            if s.name == name
        ]
        data = state.instigator_data
        assert isinstance(data, ScheduleInstigatorData)
        instance.update_instigator_state(
            state.with_data(ScheduleInstigatorData(data.cron_schedule, start_timestamp=started))
        )


def test_a_schedule_tick_is_launched_by_the_daemon_and_its_runs_succeed(
    dagster: DagsterProcesses, world: World
) -> None:
    name = SCHEDULE
    graphql = dagster.graphql
    with dagster.logs_on_failure():
        assert graphql.instigator(name)["status"] == "RUNNING"
        tick = wait_for(lambda: _tick_with_runs(dagster, name), 150, f"a tick of {name}")
        graphql.stop_schedule(name)
        # The cron time itself (the last HH:05 before the daemon started), not when it ran.
        assert tick["timestamp"] == world.missed_tick
        assert len(graphql.instigator(name)["ticks"]) == 1  # that tick only, once
        # Every run starts a process per step: on a busy 2-core machine that takes a while.
        deadline = time.monotonic() + 240
        runs = [
            graphql.wait_for_run(r, {"SUCCESS"}, timeout=max(1.0, deadline - time.monotonic()))
            for r in tick["runIds"]
        ]
    assert {(r["jobName"], r["tags"]["dagster/schedule_name"]) for r in runs} == {
        ("daily_ingest_job", name)
    }
    days = [r["tags"]["dagster/partition"] for r in runs if "dagster/partition" in r["tags"]]
    gaps = [r["tags"][RANGE_START] for r in runs if RANGE_START in r["tags"]]
    assert days, "one run per booking day still open"
    assert gaps == [world.history_start.isoformat()], "one run for the never-fetched days"


def test_a_sensor_ticks_in_the_daemon_and_its_run_stages_the_dropped_file(
    dagster: DagsterProcesses, world: World
) -> None:
    name = SENSOR
    graphql = dagster.graphql
    with dagster.logs_on_failure():
        assert graphql.instigator(name)["status"] == "RUNNING"  # on by default
        tick = wait_for(lambda: _tick_with_runs(dagster, name), 150, f"a tick of {name}")
        (run_id,) = tick["runIds"]
        run = graphql.wait_for_run(run_id, {"SUCCESS"}, timeout=90)
        assert run["jobName"] == "stage_import_file_job"
        assert run["tags"]["dagster/sensor_name"] == name
        assert run["tags"]["bg_agents/file"] == CSV.name
    inbox = Path(dagster.env["BG_AGENTS_HOME"]) / "imports" / world.slug
    assert not (inbox / CSV.name).exists(), "the staged file is moved out of the inbox"
    with get_engine(dagster.app_db_url).connect() as conn:
        staged = conn.scalar(sa.select(sa.func.count()).select_from(StagedImportRow))
    assert staged == 4  # clean.csv's four rows


def _process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _worker_pid(dagster: DagsterProcesses, run_id: str) -> int | None:
    for message in dagster.graphql.run_messages(run_id):
        found = re.fullmatch(r"Started process for run \(pid: (\d+)\)\.", message)
        if found:
            return int(found.group(1))
    return None


def test_a_run_killed_with_sigkill_is_marked_failed_and_retried_once(
    dagster: DagsterProcesses, world: World, model: ScriptedOpenAI
) -> None:
    graphql = dagster.graphql
    # The first model call is held (the step is "thinking" when its process dies); the retry's
    # calls are answered at once with a text whose every figure is one of the facts.
    model.script(slow(600, reply(world.good_text)), repeat(reply(world.good_text)))
    partition = f"{world.slot}|{world.week.isoformat()}"  # Dagster's multi-partition key: slot|week
    with dagster.instance() as instance:  # the slot registered, as the delivery sensor does
        instance.add_dynamic_partitions("delivery_slots", [world.slot])
    with dagster.logs_on_failure():
        run_id = graphql.launch_run(
            "__ASSET_JOB",
            assets=["weekly_insights"],
            tags={
                "dagster/partition": partition,
                "dagster/partition/slot": world.slot,
                "dagster/partition/week": world.week.isoformat(),
            },
        )
        wait_for(lambda: model.requests, 90, "the insights step calling the model")
        pid = wait_for(lambda: _worker_pid(dagster, run_id), 10, "the run worker's pid")
        assert graphql.run(run_id)["status"] == "STARTED"
        tree = _process_tree(pid)  # the run worker and its step's subprocess: a lost machine
        for victim in tree:
            os.kill(victim, signal.SIGKILL)
        graphql.wait_for_run(run_id, {"FAILURE"}, timeout=30)
        messages = graphql.run_messages(run_id)
        assert any("was terminated by signal 9 (SIGKILL)" in m for m in messages), messages

        retries = wait_for(
            lambda: graphql.runs(tags={"dagster/parent_run_id": run_id}), 60, "the retry run"
        )
        (retry,) = retries
        assert retry["tags"]["dagster/retry_number"] == "1"
        assert retry["tags"]["dagster/partition"] == partition
        graphql.wait_for_run(retry["runId"], {"SUCCESS"}, timeout=90)
        # Exactly one retry: no second run hangs off the failed one, and the retry's success
        # needs none.
        assert [r["runId"] for r in graphql.runs(tags={"dagster/root_run_id": run_id})] == [
            retry["runId"]
        ]


def test_the_retry_of_the_killed_run_stored_the_insight(
    dagster: DagsterProcesses, world: World
) -> None:
    """After the previous test: the retry did the killed run's work (the model's text)."""
    with get_engine(dagster.app_db_url).connect() as conn:
        insight = conn.execute(sa.select(Insight.content, Insight.path)).one()
    assert (insight.content, insight.path) == (world.good_text, "llm")
