"""Sensors: new or changed customers trigger a ``customer_profiles`` run for exactly them; each
day's ``transaction_enrichment`` follows its ``transactions`` (declarative automation) and is
materialized again when a person's correction changed it, so weekly metrics follow."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from bg_agents.defs._shared.partitions import RANGE_END, RANGE_START, daily_partitions, day_ranges
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.enrichment.corrections import corrected_days
from bg_agents.defs.enrichment.customers import RETRY_FAILED_AFTER, pending_key
from bg_agents.lib import clock
from bg_agents.lib.settings import load_enrichment_settings

enrichment_automation_sensor = dg.AutomationConditionSensorDefinition(
    "enrichment_automation_sensor",
    target=dg.AssetSelection.assets("transaction_enrichment"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description=(
        "Enriches each day whose transactions appeared or changed (hourly ingest, a late bank "
        "file), so weekly metrics count the day's categories (the condition: _shared/sensing.py)."
    ),
)

# Above this many customers the run asks for "every customer that needs it" instead of listing
# ids (the same set, without a run config the size of the customer table).
MAX_LISTED = 500


@dg.sensor(
    asset_selection=["customer_profiles"],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Enriches customers that are new, whose name, e-mail, company or country changed, "
        "whose profile is older than BG_AGENTS_ENRICHMENT_CACHE_DAYS, or whose last attempt "
        "failed over an hour ago: one `customer_profiles` run for that set. The cursor and the "
        "run key name the set and when it was requested, so the same set is requested once, "
        "and again at most hourly while its last run failed."
    ),
)
def customer_profile_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    now = clock.now()
    ttl = timedelta(days=load_enrichment_settings().cache_days)
    ids, key = pending_key(app_db.engine, now, ttl)
    if not ids:
        return dg.SensorResult(skip_reason="no new or changed customers")
    # The cursor is "<set key>@<UTC minute it was requested>", its run's key "customers:<cursor>".
    requested, _, at = (context.cursor or "").partition("@")
    if requested == key:
        # A run that fails after its retries leaves the set (and its key) as it was: request it
        # again, an hour after the last request, so a set that always fails is tried hourly.
        last = context.instance.get_run_records(
            dg.RunsFilter(tags={"dagster/run_key": f"customers:{context.cursor}"}), limit=1
        )
        if not last or last[0].dagster_run.status != dg.DagsterRunStatus.FAILURE:
            return dg.SensorResult(
                skip_reason=f"the {len(ids)} customers needing enrichment are requested already"
            )
        try:
            due = datetime.strptime(at, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC) + RETRY_FAILED_AFTER
        except ValueError:  # a cursor from before requests were timed: retry now
            due = now
        if now < due:
            return dg.SensorResult(
                skip_reason=f"the run for the {len(ids)} customers needing enrichment failed; "
                f"requested again at {due:%Y-%m-%d %H:%M} UTC"
            )
    cursor = f"{key}@{now:%Y-%m-%dT%H:%M}"
    config = {"customer_ids": ids} if len(ids) <= MAX_LISTED else {}
    request = dg.RunRequest(
        run_key=f"customers:{cursor}",
        run_config={"ops": {"customer_profiles": {"config": config}}},
    )
    return dg.SensorResult(run_requests=[request], cursor=cursor)


# -- corrections reach the weeks -----------------------------------------------------------------


@dg.sensor(
    asset_selection=["transaction_enrichment"],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "A person's correction (`bg-agents categorize`) writes the database, not a Dagster "
        "materialization: this asks for `transaction_enrichment` of the booking days whose "
        "person or learned rows changed since the cursor (the newest change seen), one run per "
        "run of consecutive days. The run writes nothing new but materializes the days, so "
        "weekly_metrics' automation recomputes their weeks. The run key names the days and the "
        "change, so each change is requested once."
    ),
)
def enrichment_correction_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    changed = corrected_days(app_db.engine, context.cursor, clock.now())
    if not changed:
        since = f"since {context.cursor}" if context.cursor else "yet"
        return dg.SensorResult(skip_reason=f"no correction {since}")
    cursor = max(changed.values()).isoformat()
    existing = set(daily_partitions.get_partition_keys())
    days = [day for day in changed if day.isoformat() in existing]
    requests = []
    for first, last in day_ranges(days):
        span = first.isoformat() if first == last else f"{first}..{last}"
        run_key = f"corrections:{span}@{cursor}"
        if first == last:
            requests.append(dg.RunRequest(partition_key=first.isoformat(), run_key=run_key))
        else:
            tags = {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}
            requests.append(dg.RunRequest(run_key=run_key, tags=tags))
    if not requests:
        return dg.SensorResult(
            skip_reason=f"corrected days are outside the partitions: {sorted(changed)[:3]}",
            cursor=cursor,
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor)
