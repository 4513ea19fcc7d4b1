"""Sensors: files dropped in the import folder, and staged rows that need their partition run.

Both are light (a directory listing, one indexed query) and cursor- or run-key-driven, so a tick
stays far below Dagster's sensor timeout and nothing is requested twice.
"""

from datetime import UTC, date, datetime

import dagster as dg
import sqlalchemy as sa

from bg_agents import clock
from bg_agents.db.models import StagedImportRow, Team, UnmatchedRecord
from bg_agents.defs.jobs import stage_import_file_job
from bg_agents.defs.partitions import daily_partitions
from bg_agents.defs.resources import AppDatabase
from bg_agents.domain.delivery import due_at, local_week_end
from bg_agents.ingest.staging import pending_files
from bg_agents.services.delivery import catch_up_window, units_to_run
from bg_agents.settings import load_settings


@dg.sensor(
    job=stage_import_file_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Stages each CSV/OFX file dropped into <import_dir>/<team-slug>/.",
)
def import_folder_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    import_dir = load_settings().import_dir
    requests = []
    for path in pending_files(import_dir):
        stat = path.lstat()  # a dangling link is listed too: staging refuses it with a report
        # A re-dropped file with new content or a new mtime gets a new run; the content hash
        # inside the job still makes a byte-identical re-drop stage nothing new.
        run_key = f"{path.relative_to(import_dir)}:{stat.st_size}:{stat.st_mtime_ns}"
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                run_config=dg.RunConfig(ops={"stage_import_file": {"config": {"path": str(path)}}}),
                tags={"bg_agents/file": path.name},
            )
        )
    return dg.SensorResult(run_requests=requests)


def _requests_for_new_rows(
    app_db: AppDatabase, id_column, date_column, cursor: str | None, nothing: str
) -> dg.SensorResult:
    """One run per day with rows added since the cursor (the highest id seen); the run key names
    the batch, so none runs twice. One indexed query per tick."""
    with app_db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(date_column, sa.func.max(id_column))
            .where(id_column > int(cursor or 0))
            .group_by(date_column)
        ).all()
    if not rows:
        return dg.SensorResult(skip_reason=nothing)
    existing = set(daily_partitions.get_partition_keys())
    requests = [
        dg.RunRequest(partition_key=day.isoformat(), run_key=f"{day.isoformat()}:{max_id}")
        for day, max_id in sorted(rows)
        if day.isoformat() in existing
    ]
    return dg.SensorResult(run_requests=requests, cursor=str(max(max_id for _, max_id in rows)))


@dg.sensor(
    asset_selection=["transactions", "unmatched_records"],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests the `transactions` partitions of newly staged file rows. Rows booked on a day "
        "whose partition does not exist yet are ingested by the daily schedule when it does."
    ),
)
def staged_rows_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    return _requests_for_new_rows(
        app_db, StagedImportRow.id, StagedImportRow.booking_date, context.cursor,
        "no newly staged rows",
    )  # fmt: skip


@dg.sensor(
    asset_selection=["record_matches"],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Matches new unmatched records (receipts, invoices, payments) as soon as a snapshot adds "
        "them: one `record_matches` run per day with new rows. Snapshot rows keep their ids when "
        "re-run, so only really new records trigger a run; days reconciled after their rows "
        "appeared (the demo, a backfill) are skipped, and the first tick starts from the present "
        "instead of requesting history."
    ),
)
def unmatched_records_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    # With no cursor (a first tick) every day with records counts as new; the filter below
    # then keeps only the days no reconciliation has seen yet, instead of all of history.
    result = _requests_for_new_rows(
        app_db, UnmatchedRecord.id, UnmatchedRecord.record_date, context.cursor,
        "no new unmatched records",
    )  # fmt: skip
    return _without_reconciled_days(context, app_db, result)


def _without_reconciled_days(
    context: dg.SensorEvaluationContext, app_db: AppDatabase, result: dg.SensorResult
) -> dg.SensorResult:
    """Drop the days a ``record_matches`` run already covered after their new rows appeared.

    The demo, a backfill or an earlier deployment reconciles right after snapshotting, while the
    cursor may be older or missing: those rows need no second run.
    """
    if not result.run_requests:
        return result
    days = [date.fromisoformat(r.partition_key) for r in result.run_requests]
    with app_db.engine.connect() as conn:
        newest = dict(
            conn.execute(
                sa.select(UnmatchedRecord.record_date, sa.func.max(UnmatchedRecord.snapshot_at))
                .where(
                    UnmatchedRecord.id > int(context.cursor or 0),
                    UnmatchedRecord.record_date.in_(days),
                )
                .group_by(UnmatchedRecord.record_date)
            ).all()
        )
    # One call for the days never reconciled; a timestamp lookup only for the others.
    done = context.instance.get_materialized_partitions(dg.AssetKey("record_matches"))
    keep = []
    for request, day in zip(result.run_requests, days, strict=True):
        if request.partition_key in done:
            reconciled = last_materialized(context.instance, "record_matches", day)
            if reconciled is not None and day in newest and newest[day] <= reconciled:
                continue
        keep.append(request)
    if not keep:
        return dg.SensorResult(skip_reason="the new records' days are reconciled already",
                               cursor=result.cursor)  # fmt: skip
    return dg.SensorResult(run_requests=keep, cursor=result.cursor)


@dg.sensor(
    asset_selection=["weekly_insights"],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests each (week, delivery slot) of weekly_insights once 07:00 Monday local has "
        "passed for its teams and the week's metrics were computed after their week ended; run "
        "key = partition key, so each unit runs once. After an outage it catches up; units "
        "older than the catch-up window run to record the skip."
    ),
)
def insight_delivery_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    now = clock.now()
    window = catch_up_window()
    # First tick: look back one window, so a fresh deployment delivers what is due right now.
    since = datetime.fromisoformat(context.cursor) if context.cursor else now - window
    with app_db.engine.connect() as conn:
        zones = set(conn.scalars(sa.select(Team.time_zone).distinct()))
    done = set(context.instance.get_materialized_partitions(dg.AssetKey("weekly_insights")))
    computed: dict[date, datetime | None] = {}

    def ready(week: date, slot: str) -> bool:
        if week not in computed:
            computed[week] = last_materialized(context.instance, "weekly_metrics", week)
        at = computed[week]
        return at is not None and at >= local_week_end(week, slot)

    units = units_to_run(
        since,
        now,
        zones,
        window,
        done=lambda week, slot: f"{slot}|{week.isoformat()}" in done,
        ready=ready,
    )
    requests = [
        dg.RunRequest(
            partition_key=dg.MultiPartitionKey({"slot": slot, "week": week.isoformat()}),
            run_key=f"{slot}|{week.isoformat()}",
            tags={"bg_agents/due_at": due_at(week, slot).isoformat()},
        )
        for week, slot in units
    ]
    return dg.SensorResult(run_requests=requests, cursor=now.isoformat())


def last_materialized(instance: dg.DagsterInstance, asset: str, week: date) -> datetime | None:
    """When a weekly partition of ``asset`` was last materialized (its latest event)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[week.isoformat()]),
        limit=1,
    ).records
    return datetime.fromtimestamp(records[0].timestamp, UTC) if records else None
