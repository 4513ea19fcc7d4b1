"""Monthly partitions of the month-end reports: from the history's first month to the last one
that has ended in UTC.

A month's partition exists once it has ended in UTC (end_offset=0); teams west of UTC are
reported later within it (the asset skips a team whose month is still running, and the sensor
asks again), teams east of UTC wait at most the hours their zone is ahead.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from bg_agents.defs._shared.partitions import HISTORY_START

monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=HISTORY_START.replace(day=1).isoformat(), end_offset=0
)


def month_of(key: str) -> date:
    """The first day of a partition's month ("2026-03-01" -> date(2026, 3, 1))."""
    return date.fromisoformat(key)
