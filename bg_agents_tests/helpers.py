"""Test helpers: seed a small simulated world, materialize assets, dump tables for comparison."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents import inprocess
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.ingestion.jobs import stage_import_file_job
from bg_agents.defs.ingestion.sensors import import_folder_sensor
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.inprocess import QUIET  # noqa: F401 - re-exported for tests
from bg_agents.lib.db.models import Base
from bg_agents.lib.weeks import last_complete_week, last_complete_week_end
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world

# The time zones the delivery schedules are tested in: DST in both hemispheres (New York, London,
# St John's at -03:30, Lord Howe's half-hour shift, Chatham at +12:45/+13:45), quarter- and
# half-hour offsets (Kathmandu +05:45, Kolkata +05:30) and both ends of the clock (Kiritimati
# +14, Pago Pago -11).
AWKWARD_ZONES = [
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]

# A Sunday inside the partitions (history starts 2025-01-01).
WORLD_END = date(2026, 3, 8)
VOLATILE = {
    "ingested_at",
    "snapshot_at",
    "computed_at",
    "created_at",
    "updated_at",
    "quarantined_at",
    "imported_at",
}


def seed(engine: Engine, teams: int = 3, weeks: int = 2, seed_value: int = 5) -> None:
    write_world(engine, generate_world(teams=teams, weeks=weeks, seed=seed_value, end=WORLD_END))


def ingest_and_measure(engine: Engine, weeks: int = 2) -> None:
    """Ingest every day of the seeded world and compute its weekly metrics (no Dagster)."""
    from datetime import timedelta

    from bg_agents.defs.ingestion.transactions import ingest_day
    from bg_agents.defs.metrics.service import build_weekly_metrics

    day = WORLD_END - timedelta(days=7 * weeks - 1)
    while day <= WORLD_END:
        ingest_day(engine, day)
        day += timedelta(days=1)
    for k in range(weeks):
        build_weekly_metrics(engine, WORLD_END - timedelta(days=7 * (weeks - k) - 1))


def one_team_with_metrics(engine: Engine) -> tuple[str, str]:
    """Seed one simulated team with two measured weeks; returns its (slug, time zone)."""
    seed(engine, teams=1, weeks=2)
    ingest_and_measure(engine)
    with engine.connect() as conn:
        slug, zone = conn.execute(sa.text("select slug, time_zone from teams")).one()
    return slug, zone


def materialize(
    url: str, names: list[str], partition_key: str, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    return inprocess.materialize(
        names,
        partition_key=partition_key,
        app_db=AppDatabase(url=url),
        instance=instance or dg.DagsterInstance.ephemeral(),
    )


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every application table's rows (ids included, timestamps left out), in id order."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name not in VOLATILE]
            rows = conn.execute(sa.select(*cols).order_by(table.c.id)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    found = inprocess.materialization_metadata(result, asset)
    assert found, f"{asset} was not materialized"
    return found


def team_with_last_week_measured(engine: Engine, seed_value: int) -> tuple[str, date]:
    """One team whose last complete week (the real one, in the team's zone, as the agents read
    "last week") has metrics, so "last week" has data for commands that read the real clock.
    Returns the team's slug and that week's Monday."""
    utc_end = last_complete_week_end(datetime.now(UTC).date())
    zone = generate_world(teams=1, weeks=1, seed=seed_value, end=utc_end).teams[0]["time_zone"]
    today = datetime.now(ZoneInfo(zone)).date()  # on Monday 01:00 UTC, New York's is Sunday
    world = generate_world(teams=1, weeks=2, seed=seed_value, end=last_complete_week_end(today))
    assert world.teams[0]["time_zone"] == zone
    write_world(engine, world)
    day = world.start
    while day <= world.end:
        ingest_day(engine, day)
        day += timedelta(days=1)
    monday = last_complete_week(today)
    for week in (monday - timedelta(days=7), monday):
        build_weekly_metrics(engine, week)
    return world.teams[0]["slug"], monday


def stage_dropped_files(db_url: str) -> list[dg.RunRequest]:
    """What the import-folder sensor requests now, each staging run executed in-process."""
    requests = import_folder_sensor(dg.build_sensor_context()).run_requests
    for request in requests:
        result = stage_import_file_job.execute_in_process(
            run_config={**request.run_config, **QUIET},
            resources={"app_db": AppDatabase(url=db_url)},
            instance=dg.DagsterInstance.ephemeral(),
            tags=request.tags,
        )
        assert result.success
    return requests
