"""Reminder partitions: a team-local day x the delivery slot of its 09:00 (the UTC offset then).

The slots are the insights' registered ones (``delivery_slots``: at most 40 whatever the number
of teams; a sensor registers a slot when a unit in it first comes due). ``end_offset=2``: 09:00
local at UTC+14 is 19:00 UTC the day before, so tomorrow's (UTC) local day must exist already.
"""

import dagster as dg

from bg_agents.defs._shared.partitions import HISTORY_START, delivery_slots

reminder_days = dg.DailyPartitionsDefinition(start_date=HISTORY_START.isoformat(), end_offset=2)
reminder_partitions = dg.MultiPartitionsDefinition({"day": reminder_days, "slot": delivery_slots})


def partition_key(day: str, slot: str) -> str:
    """The unit's partition key (dimensions in name order: ``2026-03-02|UTC+01:00``), also the
    sensor's run key."""
    return str(dg.MultiPartitionKey({"day": day, "slot": slot}))
