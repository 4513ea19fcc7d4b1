"""Schedules: fetch booking days from the bank feed, every hour while they can still change.

Weekly metrics need no schedule: ``defs/automation.py`` re-computes a week when its days change.
"""

import dagster as dg

from bg_agents.defs.ingestion.jobs import daily_ingest_job
from bg_agents.defs.ingestion.timing import days_to_ingest


@dg.schedule(
    cron_schedule="5 * * * *",
    job=daily_ingest_job,
    execution_timezone="UTC",
    description=(
        "Every hour, fetch each booking day that has ended in some time zone and may still "
        "change (usually two or three days; bg_agents/defs/ingestion/timing.py)."
    ),
)
def hourly_ingest_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    tick = context.scheduled_execution_time
    return [
        dg.RunRequest(partition_key=day.isoformat(), run_key=f"{day.isoformat()}@{tick:%Y%m%dT%H}")
        for day in days_to_ingest(tick)
    ]
