"""Partitions: booking days and ISO weeks, starting at ``BG_AGENTS_HISTORY_START``."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from bg_agents.domain.delivery import SLOTS
from bg_agents.settings import load_settings

HISTORY_START: date = load_settings().history_start
# Weekly partitions begin on the first Monday inside the history, so every week maps onto days
# that exist as daily partitions.
FIRST_MONDAY = HISTORY_START + timedelta(days=(7 - HISTORY_START.weekday()) % 7)

daily_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START.isoformat())
weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=FIRST_MONDAY.isoformat(), day_offset=1)


# One unit of delivery: an ISO week x the UTC offset its teams have at Monday 07:00 local
# (bg_agents.domain.delivery). 40 slots x 52 weeks a year, whatever the number of teams.
# end_offset=1: the week in progress exists too, because teams east of UTC+07:00 are due before
# the week has ended in UTC (Kiritimati's Monday 07:00 is Sunday 17:00 UTC).
insight_weeks = dg.WeeklyPartitionsDefinition(
    start_date=FIRST_MONDAY.isoformat(), day_offset=1, end_offset=1
)
insight_partitions = dg.MultiPartitionsDefinition(
    {"slot": dg.StaticPartitionsDefinition(list(SLOTS)), "week": insight_weeks}
)


def key_to_date(key: str) -> date:
    return date.fromisoformat(key)
