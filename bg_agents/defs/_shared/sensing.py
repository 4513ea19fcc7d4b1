"""Sensor helpers shared by the domains: new-row batching, a partition's last materialization, a
sweeping job's one pass a minute, and the automation condition of assets that follow their deps.

Several domains react to rows appended to a table (staged file rows, unmatched records) and to
another asset's freshness; one implementation keeps their cursors and run keys alike.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime

import dagster as dg
import sqlalchemy as sa

from bg_agents.defs._shared.partitions import daily_partitions
from bg_agents.defs._shared.resources import AppDatabase

# Like AutomationCondition.eager(), but for every partition, not only the latest time window: a
# partition is refreshed when it appears and whenever a dependency's partition changes (a late
# bank file, a correction), never while a dependency is missing or running. "Changes" is by data
# version, not by materialization: the assets followed report a digest of what they stored
# (``lib/db/digest.py``), so the hourly ingest of a day with nothing new sets off nothing. (A run
# of several days reports one version for all of them: every day it covers counts as changed
# when any did, never the other way round.)
_AC = dg.AutomationCondition
_any_deps_changed = _AC.any_deps_match(
    (_AC.data_version_changed() & ~_AC.executed_with_root_target()).with_label(
        "data_version_changed_without_root"
    )
    | _AC.will_be_requested()
).with_label("any_deps_changed")
refresh_when_deps_change = (
    (_AC.newly_missing() | _any_deps_changed).since_last_handled()
    & ~_AC.any_deps_missing()
    & ~_AC.any_deps_in_progress()
    & ~_AC.in_progress()
).with_label("refresh when deps change")


def requests_for_new_rows(
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


def last_materialized(
    instance: dg.DagsterInstance, asset: str, partition: date | None = None
) -> datetime | None:
    """When ``asset``'s daily or weekly ``partition`` (else any partition) was last materialized
    (its latest event)."""
    partitions = [partition.isoformat()] if partition is not None else None
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=partitions), limit=1
    ).records
    return datetime.fromtimestamp(records[0].timestamp, UTC) if records else None


UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def one_pass_a_minute(
    context: dg.SensorEvaluationContext,
    job_name: str,
    run_key_prefix: str,
    now: datetime,
    why_not: Callable[[], str | None],
) -> dg.SensorResult:
    """Request one run of a sweeping job (a pass over whatever is due) when ``why_not`` has no
    reason against it: at most one a minute (the cursor holds the minute, the run key names it)
    and none while the previous pass still runs, so a slow server delays the next pass instead
    of piling runs up in the queue."""
    minute = now.strftime("%Y-%m-%dT%H:%M")
    if context.cursor == minute:
        return dg.SensorResult(skip_reason=f"a pass was requested at {minute} UTC already")
    running = context.instance.get_runs_count(dg.RunsFilter(job_name=job_name, statuses=UNFINISHED))
    if running:
        return dg.SensorResult(skip_reason="the previous pass is still running")
    reason = why_not()
    if reason:
        return dg.SensorResult(skip_reason=reason)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{run_key_prefix}:{minute}")], cursor=minute
    )
