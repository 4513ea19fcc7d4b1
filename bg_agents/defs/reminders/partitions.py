"""Reminder partitions: a team-local day x the delivery slot of its 09:00 (the UTC offset then).

40 slots x 365 days a year, whatever the number of teams. ``end_offset=2``: 09:00 local at
UTC+14 is 19:00 UTC the day before, so tomorrow's (UTC) local day must exist already today.
"""

import dagster as dg

from bg_agents.defs._shared.partitions import HISTORY_START
from bg_agents.lib.delivery_slots import SLOTS

reminder_days = dg.DailyPartitionsDefinition(start_date=HISTORY_START.isoformat(), end_offset=2)
reminder_partitions = dg.MultiPartitionsDefinition(
    {"day": reminder_days, "slot": dg.StaticPartitionsDefinition(list(SLOTS))}
)


def partition_key(day: str, slot: str) -> str:
    """The unit's partition key (dimensions in name order: ``2026-03-02|UTC+01:00``), also the
    sensor's run key."""
    return str(dg.MultiPartitionKey({"day": day, "slot": slot}))
