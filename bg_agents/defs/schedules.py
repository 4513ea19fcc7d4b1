"""Schedules: the bank feed after each UTC day, weekly metrics after each ISO week."""

from __future__ import annotations

import dagster as dg

from bg_agents.defs.jobs import daily_ingest_job, weekly_metrics_job

# 01:00 UTC: the previous day's partition, once the bank has booked it.
daily_ingest_schedule = dg.build_schedule_from_partitioned_job(
    daily_ingest_job, hour_of_day=1, minute_of_hour=0
)
# Monday 03:00 UTC: the week that ended on Sunday, after its last daily partition landed.
weekly_metrics_schedule = dg.build_schedule_from_partitioned_job(
    weekly_metrics_job, hour_of_day=3, minute_of_hour=0
)
