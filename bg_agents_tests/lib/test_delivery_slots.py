"""Delivery slots: every IANA zone maps to a known slot in every week, and a slot's due instant is
07:00 on the Monday after the week in each of its teams' zones, across DST changes."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest

from bg_agents.lib.delivery_slots import SLOTS, due_at, due_local, slot_for, slot_offset

FIRST = date(2025, 1, 6)


def test_every_zone_has_a_known_slot_for_every_week_of_three_years() -> None:
    zones = sorted(available_timezones())
    used = {slot_for(FIRST + timedelta(weeks=w), z) for w in range(0, 156, 3) for z in zones}
    assert used <= set(SLOTS)
    assert len(SLOTS) == len(set(SLOTS)) == 40
    assert sorted(SLOTS, key=slot_offset) == list(SLOTS)


@pytest.mark.parametrize(
    ("zone", "week", "slot"),
    [
        ("Europe/London", date(2026, 1, 5), "UTC+00:00"),
        ("Europe/London", date(2026, 7, 6), "UTC+01:00"),
        ("America/New_York", date(2026, 2, 23), "UTC-05:00"),
        ("America/New_York", date(2026, 3, 2), "UTC-04:00"),  # delivered 9 March, DST since 8th
        ("Asia/Kathmandu", date(2026, 3, 9), "UTC+05:45"),
        ("Australia/Lord_Howe", date(2026, 1, 5), "UTC+11:00"),
        ("Australia/Lord_Howe", date(2026, 6, 1), "UTC+10:30"),
        ("Pacific/Chatham", date(2026, 1, 5), "UTC+13:45"),
        ("America/St_Johns", date(2026, 7, 6), "UTC-02:30"),
        ("Pacific/Kiritimati", date(2026, 7, 6), "UTC+14:00"),
        ("Pacific/Pago_Pago", date(2026, 7, 6), "UTC-11:00"),
    ],
)
def test_slot_is_the_offset_at_monday_seven_local(zone: str, week: date, slot: str) -> None:
    assert slot_for(week, zone) == slot
    local = due_at(week, slot).astimezone(ZoneInfo(zone))
    assert (local.date(), local.hour, local.minute) == (week + timedelta(days=7), 7, 0)
    assert due_at(week, slot) == due_local(week, zone).astimezone(UTC)


def test_due_is_never_before_the_local_week_ends() -> None:
    week = date(2026, 11, 16)
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata"):
        end_of_week = datetime(2026, 11, 23, tzinfo=ZoneInfo(zone))
        assert due_at(week, slot_for(week, zone)) >= end_of_week


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="not a Monday"):
        slot_for(date(2026, 11, 17), "Europe/London")
    with pytest.raises(ValueError, match="unknown delivery slot"):
        slot_offset("UTC+01:23")
