"""Sensors: new or changed customers trigger a ``customer_profiles`` run for exactly them; each
day's ``transaction_enrichment`` follows its ``transactions`` (declarative automation)."""

from datetime import timedelta

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.enrichment.customers import pending_key
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
        "run key name the set, so the same set is requested once."
    ),
)
def customer_profile_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    ttl = timedelta(days=load_enrichment_settings().cache_days)
    ids, key = pending_key(app_db.engine, clock.now(), ttl)
    if not ids:
        return dg.SensorResult(skip_reason="no new or changed customers")
    if context.cursor == key:
        return dg.SensorResult(
            skip_reason=f"the {len(ids)} customers needing enrichment are requested already"
        )
    config = {"customer_ids": ids} if len(ids) <= MAX_LISTED else {}
    request = dg.RunRequest(
        run_key=f"customers:{key}",
        run_config={"ops": {"customer_profiles": {"config": config}}},
    )
    return dg.SensorResult(run_requests=[request], cursor=key)
