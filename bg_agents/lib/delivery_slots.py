"""Delivery slots: when something is due at a local time, as a UTC offset shared by many teams.

A team's insight for ISO week W is due on the Monday after W at 07:00 in the team's time zone.
Teams whose zones have the same UTC offset at that moment share the same due instant, so one
*slot* (the offset, e.g. ``UTC+05:30``) names a unit of delivery for any number of teams. Keying
partitions by (week, slot) keeps them bounded (at most 40 slots x 52 weeks a year; only the
slots in use are registered as partitions) however many teams sign up, and handles DST without
special cases: a London team sits in ``UTC+00:00`` in winter weeks and ``UTC+01:00`` in summer
weeks, and each week's slot is computed for that week. Daily agents (the 09:00 reminders) use the
same slots per local day: ``day_slot`` and ``day_due_at``.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DELIVERY_TIME = time(7, 0)

# Every UTC offset that IANA zones use (standard and daylight time), in 15-minute units. A fixed
# list, not one computed from tzdata at import: partition keys must not change when tzdata does.
_QUARTERS = (
    -48, -44, -40, -38, -36, -32, -28, -24, -20, -16, -14, -12, -10, -8, -4, 0, 4, 8, 12,
    14, 16, 18, 20, 22, 23, 24, 26, 28, 32, 35, 36, 38, 40, 42, 44, 48, 51, 52, 55, 56,
)  # fmt: skip


def slot_name(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


SLOTS: tuple[str, ...] = tuple(slot_name(timedelta(minutes=15 * q)) for q in _QUARTERS)


@functools.lru_cache(maxsize=256)
def slot_offset(slot: str) -> timedelta:
    if slot not in SLOTS:
        raise ValueError(f"unknown delivery slot {slot!r}")
    sign = -1 if slot[3] == "-" else 1
    hours, mins = int(slot[4:6]), int(slot[7:9])
    return sign * timedelta(hours=hours, minutes=mins)


@functools.lru_cache(maxsize=65_536)
def day_slot(day: date, at: time, time_zone: str) -> str:
    """The slot of a team for ``at`` o'clock on its local ``day``: its zone's offset then."""
    offset = datetime.combine(day, at, ZoneInfo(time_zone)).utcoffset()
    assert offset is not None
    slot = slot_name(offset)
    if slot not in SLOTS:
        raise ValueError(f"{time_zone} is at {slot} on {day}, no slot")
    return slot


def day_due_at(day: date, at: time, slot: str) -> datetime:
    """The UTC instant of ``at`` o'clock on local ``day`` for every team of ``slot``."""
    return (datetime.combine(day, at) - slot_offset(slot)).replace(tzinfo=UTC)


def window_action(due: datetime, now: datetime, window: timedelta) -> str:
    """What a scheduled delivery does at ``now``: ``wait`` before its due instant, ``deliver``
    within ``window`` after it (catching up after an outage), ``skip`` later (recorded, not sent:
    a week-old insight or reminder would mislead more than it helps)."""
    if now < due:
        return "wait"
    return "deliver" if now <= due + window else "skip"


# Cached: ZoneInfo keeps only a few zones loaded, so 10,000 teams in a dozen zones would re-read
# zone files from disk on each call (the freshness sensor spent 0.8 s of its tick here).
@functools.lru_cache(maxsize=65_536)
def due_local(week_start: date, time_zone: str) -> datetime:
    """07:00 on the Monday after the week, in the team's zone (aware)."""
    if week_start.weekday() != 0:
        raise ValueError(f"{week_start} is not a Monday; insights cover ISO weeks")
    return datetime.combine(week_start + timedelta(days=7), DELIVERY_TIME, ZoneInfo(time_zone))


@functools.lru_cache(maxsize=65_536)
def slot_for(week_start: date, time_zone: str) -> str:
    """The slot of a team for one week: its zone's UTC offset at the due moment."""
    offset = due_local(week_start, time_zone).utcoffset()
    assert offset is not None
    slot = slot_name(offset)
    if slot not in SLOTS:
        raise ValueError(f"{time_zone} is at {slot} on {week_start + timedelta(days=7)}, no slot")
    return slot


@functools.lru_cache(maxsize=65_536)
def due_at(week_start: date, slot: str) -> datetime:
    """The UTC instant at which every team of ``slot`` is due its insight for the week."""
    local = datetime.combine(week_start + timedelta(days=7), DELIVERY_TIME)
    return (local - slot_offset(slot)).replace(tzinfo=UTC)


def local_week_end(week_start: date, slot: str) -> datetime:
    """Midnight between Sunday and Monday for the slot's teams, as a UTC instant."""
    return due_at(week_start, slot) - timedelta(hours=DELIVERY_TIME.hour)
