"""A simulated clock walks a whole year at the sensor's pace, with a 6-hour daemon outage: every
team in nine awkward time zones gets exactly one weekly insight, between 07:00 and 08:00 local,
or at the end of the outage when it fell inside it; nothing is sent before the local week ends,
nor before the week's metrics include the team's Sunday (the hourly ingest schedule is simulated
too: a week's metrics are recomputed at each hourly tick that fetches its Sunday)."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bg_agents.defs.ingestion.timing import days_to_ingest
from bg_agents.defs.insights.delivery import action, units_to_run
from bg_agents.lib.delivery_slots import due_at, local_week_end, slot_for
from bg_agents_tests.helpers import AWKWARD_ZONES

ZONES = AWKWARD_ZONES
START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=365)
TICK = timedelta(minutes=5)
# Sunday 5 July 14:00-20:00 UTC: Kiritimati (Sunday 17:00 UTC) and Chatham (18:15) fall due inside.
OUTAGE = (datetime(2026, 7, 5, 14, tzinfo=UTC), datetime(2026, 7, 5, 20, tzinfo=UTC))
WINDOW = timedelta(hours=48)


def simulate() -> tuple[dict[tuple[str, object], list[datetime]], int]:
    """The daemon's loop: hourly ingest ticks (metrics follow), delivery sensor ticks (cursor =
    last tick, run key = unit) and each run's delivery decision."""
    deliveries: dict[tuple[str, object], list[datetime]] = defaultdict(list)
    run_keys: set[tuple[object, str]] = set()
    metrics_at: dict[object, datetime] = {}  # week -> last time its metrics were computed
    duplicates = 0
    cursor, now = START, START
    while now < END:
        now += TICK
        if OUTAGE[0] <= now < OUTAGE[1]:
            continue  # the daemon is down: no schedule, no sensor, the cursor stays put
        if now.minute == 5:  # the hourly ingest schedule; the automation sensor follows
            for day in days_to_ingest(now):
                if day.weekday() == 6:
                    metrics_at[day - timedelta(days=6)] = now

        def ready(week: object, slot: str) -> bool:
            at = metrics_at.get(week)
            return at is not None and at >= local_week_end(week, slot)  # type: ignore[arg-type]

        units = units_to_run(
            cursor, now, ZONES, WINDOW, done=lambda w, s: (w, s) in run_keys, ready=ready
        )
        for week, slot in units:
            if (week, slot) in run_keys:
                duplicates += 1
                continue
            run_keys.add((week, slot))
            for zone in ZONES:
                if slot_for(week, zone) == slot and action(due_at(week, slot), now, WINDOW) == (
                    "deliver"
                ):
                    deliveries[(zone, week)].append(now)
        cursor = now
    return deliveries, duplicates


def test_a_year_of_ticks_delivers_each_week_once_at_seven_local() -> None:
    deliveries, duplicates = simulate()
    assert duplicates == 0
    caught_up = []
    for zone in ZONES:
        tz = ZoneInfo(zone)
        weeks = sorted(w for z, w in deliveries if z == zone)
        assert len(weeks) >= 51, zone
        assert all(b - a == timedelta(days=7) for a, b in zip(weeks, weeks[1:], strict=False))
        for week in weeks:
            (sent,) = deliveries[(zone, week)]  # exactly one delivery per week
            local = sent.astimezone(tz)
            local_week_end = datetime.combine(week + timedelta(days=7), datetime.min.time(), tz)
            assert sent >= local_week_end, "never before the team's local week has ended"
            due = due_at(week, slot_for(week, zone))
            if OUTAGE[0] <= due < OUTAGE[1]:
                assert sent == OUTAGE[1] and sent - due <= WINDOW
                caught_up.append(zone)
            else:
                assert local.weekday() == 0 and 7 <= local.hour < 8, (zone, week, local)
    assert sorted(caught_up) == ["Pacific/Chatham", "Pacific/Kiritimati"]


def test_an_outage_longer_than_the_window_skips_instead_of_sending_late() -> None:
    due = due_at(START.date() - timedelta(days=START.weekday() + 7), "UTC+05:30")
    assert action(due, due - timedelta(minutes=1), WINDOW) == "wait"
    assert action(due, due, WINDOW) == "deliver"
    assert action(due, due + WINDOW, WINDOW) == "deliver"
    assert action(due, due + WINDOW + timedelta(seconds=1), WINDOW) == "skip"
