"""Schedules: fetch booking days from the bank feed, every hour while they can still change, and
any earlier day of the history that was never fetched.

Weekly metrics need no schedule: ``defs/automation.py`` re-computes a week when its days change.
"""

from datetime import date, datetime, timedelta

import dagster as dg

from bg_agents.defs._shared.partitions import HISTORY_START, RANGE_END, RANGE_START, day_ranges
from bg_agents.defs.ingestion.jobs import daily_ingest_job
from bg_agents.defs.ingestion.timing import days_to_ingest, last_ended_day

# What a run of daily_ingest_job materializes: a day is fetched once both have that partition.
DAILY_ASSETS = ("transactions", "unmatched_records")


def missing_ranges(first: date, last: date, done: set[str]) -> list[tuple[date, date]]:
    """The runs of consecutive days from ``first`` to ``last`` whose key is not in ``done``."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return day_ranges(day for day in days if day.isoformat() not in done)


@dg.schedule(
    cron_schedule="5 * * * *",
    job=daily_ingest_job,
    execution_timezone="UTC",
    # On by default: with the metrics automation it keeps every day and week up to today filled
    # (after `make demo`, `make dev` fills the current week without anyone turning it on).
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Every hour, fetch each booking day that has ended in some time zone and may still "
        "change (usually two or three days; bg_agents/defs/ingestion/timing.py), plus, as one "
        "run per gap, any earlier day of the history never fetched (e.g. the days of this week "
        "before the demo ran), so every day up to today is filled."
    ),
)
def hourly_ingest_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    done = set.intersection(
        *(set(context.instance.get_materialized_partitions(dg.AssetKey(a))) for a in DAILY_ASSETS)
    )
    return ingest_requests(context.scheduled_execution_time, done, HISTORY_START)


def ingest_requests(tick: datetime, done: set[str], first: date) -> list[dg.RunRequest]:
    """One run per recent day, and one per gap of never-fetched days from ``first`` on.

    A gap is asked for once a day (its run key): a run still filling it is not doubled, and one
    that failed is tried again the next day. The recent days are fetched every hour anyway.
    """
    recent = days_to_ingest(tick)
    gaps = missing_ranges(first, last_ended_day(tick), done | {d.isoformat() for d in recent})
    catch_up = [
        dg.RunRequest(
            run_key=f"catch-up {start}..{end}@{tick:%Y-%m-%d}",
            tags={RANGE_START: start.isoformat(), RANGE_END: end.isoformat()},
        )
        for start, end in gaps
    ]
    return catch_up + [
        dg.RunRequest(partition_key=day.isoformat(), run_key=f"{day.isoformat()}@{tick:%Y%m%dT%H}")
        for day in recent
    ]
