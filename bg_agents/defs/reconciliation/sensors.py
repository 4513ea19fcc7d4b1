"""Sensors: new unmatched records trigger a ``record_matches`` run for their day."""

from datetime import date

import dagster as dg
import sqlalchemy as sa

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs._shared.sensing import last_materialized, requests_for_new_rows
from bg_agents.lib.db.models import UnmatchedRecord


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
    result = requests_for_new_rows(
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
