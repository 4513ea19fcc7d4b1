"""A week run as one run (a single-run backfill, the demo) gives each day its own figures, and a
re-run that changes nothing says so without replacing the days' figures with zeros."""

from datetime import timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents import inprocess
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.lib.db.models import Match, Transaction, UnmatchedRecord
from bg_agents_tests.helpers import WORLD_END, seed

WEEK = [(WORLD_END - timedelta(days=6 - d)).isoformat() for d in range(7)]


def _week(db_url: str, instance: dg.DagsterInstance, names: list[str], job: str | None = None):  # type: ignore[no-untyped-def]
    result = inprocess.materialize(
        names, instance=instance, job=job, partition_range=(WEEK[0], WEEK[-1]),
        app_db=AppDatabase(url=db_url), tags={"bg_agents/launched_by": "test"},
    )  # fmt: skip
    assert result.success
    return result


def _per_day(engine: Engine, column, model) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(column, sa.func.count()).select_from(model).group_by(column))
        return {d.isoformat(): n for d, n in rows if d.isoformat() in WEEK}


@pytest.mark.integration
def test_each_day_of_a_week_run_carries_its_own_figures(engine: Engine, db_url: str) -> None:
    seed(engine, teams=2, weeks=1)
    instance = dg.DagsterInstance.ephemeral()
    result = _week(db_url, instance, ["transactions", "unmatched_records"], "daily_ingest_job")
    assert result.dagster_run.job_name == "daily_ingest_job"

    days = inprocess.partition_metadata(result, "transactions")
    stored = _per_day(engine, Transaction.booking_date, Transaction)
    assert set(days) == set(WEEK)
    assert {k: m["dagster/row_count"] for k, m in days.items()} == stored
    assert len(set(stored.values())) > 1  # the days differ: not one total repeated
    assert all(m["changed"] is True and m["inserted"] == stored[k] for k, m in days.items())
    queue = inprocess.partition_metadata(result, "unmatched_records")
    assert {k: m["dagster/row_count"] for k, m in queue.items() if m["dagster/row_count"]} == (
        _per_day(engine, UnmatchedRecord.record_date, UnmatchedRecord)
    )

    matched = inprocess.partition_metadata(
        _week(db_url, instance, ["record_matches"]), "record_matches"
    )
    with engine.connect() as conn:
        links = conn.scalar(sa.select(sa.func.count()).where(Match.decision == "link"))
    assert sum(m["auto_links"] for m in matched.values()) == links > 0
    assert len({m["auto_links"] for m in matched.values()}) > 1

    again = _week(db_url, instance, ["transactions", "unmatched_records"], "daily_ingest_job")
    for key, meta in inprocess.partition_metadata(again, "transactions").items():
        assert meta["changed"] is False and meta["inserted"] == 0
        assert meta["dagster/row_count"] == stored[key]  # the day's figure, not a zero
    latest = instance.get_latest_materialization_event(dg.AssetKey("transactions"))
    assert latest is not None and latest.asset_materialization is not None
    assert latest.asset_materialization.metadata["dagster/row_count"].value == stored[WEEK[-1]]
    rematched = _week(db_url, instance, ["record_matches"])
    for key, meta in inprocess.partition_metadata(rematched, "record_matches").items():
        assert meta["changed"] is False and meta["auto_links"] == matched[key]["auto_links"]
