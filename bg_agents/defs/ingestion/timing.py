"""When a booking day can be fetched: as soon as it has ended somewhere, until it surely has not
changed any more.

Day D ends first at UTC+14 (D 10:00 UTC) and last at UTC-12 (D+1 12:00 UTC). Fetching it every
hour in between, and for one more day of late postings, means a team's Sunday is in its weekly
metrics about an hour after its local week ended, wherever it is: Kiritimati's Monday 07:00
insight (Sunday 17:00 UTC) is as complete as Pago Pago's (Monday 18:00 UTC). Ingestion is
insert-if-absent, so fetching a day again only adds what is new.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

FIRST_END = timedelta(hours=10)  # D 00:00 UTC + 10 h = midnight at UTC+14
LAST_END = timedelta(hours=36)  # D 00:00 UTC + 36 h = midnight at UTC-12
LATE_POSTINGS = timedelta(days=1)


def days_to_ingest(now: datetime) -> list[date]:
    """The booking days worth fetching at ``now`` (usually two or three)."""
    out = []
    for back in range(4):
        day = (now - timedelta(days=back)).date()
        start = datetime.combine(day, time(0), UTC)
        if start + FIRST_END <= now < start + LAST_END + LATE_POSTINGS:
            out.append(day)
    return sorted(out)


def last_ended_day(now: datetime) -> date:
    """The latest booking day that has ended somewhere (at UTC+14) at ``now``."""
    return (now - FIRST_END).date()
