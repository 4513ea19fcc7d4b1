"""The hourly schedule keeps every day up to today filled: after a demo (or an outage) the days
between the last filled one and the recent ones it fetches anyway are requested too."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from bg_agents.defs._shared.partitions import HISTORY_START
from bg_agents.defs.ingestion.schedules import (
    DAILY_ASSETS,
    hourly_ingest_schedule,
    ingest_requests,
)
from bg_agents.defs.ingestion.timing import last_ended_day

FIRST = date(2026, 9, 28)  # a demo's first Monday
SUNDAY = date(2026, 11, 22)  # and the last day it filled
THURSDAY_TICK = datetime(2026, 11, 26, 5, 5, tzinfo=UTC)


def _keys(first: date, last: date) -> set[str]:
    return {(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)}


def _ranges(requests: list[dg.RunRequest]) -> list[tuple[str, str]]:
    return [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
        if not r.partition_key
    ]


def _requested(requests: list[dg.RunRequest]) -> set[str]:
    out = {r.partition_key for r in requests if r.partition_key}
    for start, end in _ranges(requests):
        out |= _keys(date.fromisoformat(start), date.fromisoformat(end))
    return out


def test_the_days_of_this_week_before_the_demo_ran_are_filled_by_the_schedule() -> None:
    done = _keys(FIRST, SUNDAY)
    requests = ingest_requests(THURSDAY_TICK, done, FIRST)
    # Monday is past its late-postings day, so only the catch-up asks for it: one ranged run.
    assert _ranges(requests) == [("2026-11-23", "2026-11-23")]
    assert [r.run_key for r in requests if not r.partition_key] == [
        "catch-up 2026-11-23..2026-11-23@2026-11-26"
    ]
    ended = last_ended_day(THURSDAY_TICK)
    assert ended == date(2026, 11, 25)
    assert done | _requested(requests) == _keys(FIRST, ended)  # every day up to today

    done |= _keys(date(2026, 11, 23), ended)  # the runs succeeded: only the recent days again
    assert all(
        r.partition_key for r in ingest_requests(THURSDAY_TICK + timedelta(hours=1), done, FIRST)
    )


def test_a_gap_left_by_an_outage_is_one_run_and_nothing_before_the_history_is_asked() -> None:
    done = _keys(FIRST, date(2026, 11, 10)) | _keys(date(2026, 11, 14), SUNDAY)
    requests = ingest_requests(THURSDAY_TICK, done, FIRST)
    assert _ranges(requests) == [("2026-11-11", "2026-11-13"), ("2026-11-23", "2026-11-23")]
    assert min(_requested(requests)) == "2026-11-11"


def test_the_schedule_reads_what_the_instance_holds() -> None:
    """A day counts as fetched only once both daily assets have it; the history start bounds it."""
    with dg.instance_for_test() as instance:
        for asset in DAILY_ASSETS:
            for key in _keys(date(2026, 11, 16), SUNDAY):
                instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=key))
        instance.report_runless_asset_event(
            dg.AssetMaterialization("transactions", partition="2026-11-23")
        )
        # Closed after the tick: an unclosed context leaves its instance current in Dagster.
        with dg.build_schedule_context(
            instance=instance, scheduled_execution_time=THURSDAY_TICK
        ) as context:
            requests = list(hourly_ingest_schedule(context))
    assert _ranges(requests) == [
        (HISTORY_START.isoformat(), "2026-11-15"),
        ("2026-11-23", "2026-11-23"),  # unmatched_records still lacks it
    ]
