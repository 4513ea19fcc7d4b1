"""Schedules: the bank feed after each UTC day.

Weekly metrics need no schedule: ``defs/automation.py`` runs each week once its last day landed.
"""

from __future__ import annotations

import dagster as dg

from bg_agents.defs.jobs import daily_ingest_job

# 01:00 UTC: the previous day's partition, once the bank has booked it.
daily_ingest_schedule = dg.build_schedule_from_partitioned_job(
    daily_ingest_job, hour_of_day=1, minute_of_hour=0
)
