"""Partitions: booking days and ISO weeks, starting at ``BG_AGENTS_HISTORY_START``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import dagster as dg

from bg_agents.lib.settings import load_settings

HISTORY_START: date = load_settings().history_start
# Weekly partitions begin on the first Monday inside the history, so every week maps onto days
# that exist as daily partitions.
FIRST_MONDAY = HISTORY_START + timedelta(days=(7 - HISTORY_START.weekday()) % 7)

# end_offset=1: today's booking day and this ISO week exist already. A day is fetched as soon as
# it has ended in the first time zone (bg_agents.defs.ingestion.timing), and the week's metrics
# follow, so teams far east of UTC have their full week before their Monday 07:00.
daily_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START.isoformat(), end_offset=1)
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=FIRST_MONDAY.isoformat(), day_offset=1, end_offset=1
)


# A week or a month reads its booking days that exist: the week in progress (end_offset=1) has
# days still to come, and a history starting mid-month (2026-10-05) gives its first month days
# before it (October 1-4). Without this, a backfill that includes such a week or month fails
# ("depends on non-existent partitions") and refreshes nothing.
EXISTING_DAYS = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


# One unit of delivery: an ISO week x the UTC offset its teams have at Monday 07:00 local
# (bg_agents.lib.delivery_slots); reminders use the same slots per local day. At most 40 slots
# (lib/delivery_slots.SLOTS) whatever the number of teams, but only the slots some team has used
# are registered (by the sensors when a unit first comes due, by bg_agents.inprocess for its runs),
# so the UI's partition grid shows the offsets the teams are in, not 40 rows mostly grey.
# Kiritimati's Monday 07:00 is Sunday 17:00 UTC: the week must exist before it ends in UTC.
delivery_slots = dg.DynamicPartitionsDefinition(name="delivery_slots")
insight_partitions = dg.MultiPartitionsDefinition(
    {"slot": delivery_slots, "week": weekly_partitions}
)


def slot_registrations(
    instance: dg.DagsterInstance, slots: Iterable[str]
) -> list[dg.AddDynamicPartitionsRequest]:
    """What a sensor returns beside its run requests so the slots they use exist first (Dagster
    applies it before the runs): the slots not registered yet, or nothing."""
    new = sorted(set(slots) - set(instance.get_dynamic_partitions(delivery_slots.name)))
    return [delivery_slots.build_add_request(new)] if new else []


# The tags of a run over a range of partitions (one run for several days, as a single-run
# backfill makes): what a schedule or sensor sets to ask for such a run.
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """The days (sorted here) as runs of consecutive days: (first, last) each."""
    out: list[tuple[date, date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def key_to_date(key: str) -> date:
    return date.fromisoformat(key)
