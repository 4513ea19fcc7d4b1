"""When a team's month may be reported: it has ended in the team's zone, and its bank days are in.

A report states the books' figures; written too early it would miss the month's last bookings
and make a second version the next hour. So a team's month is ready when

1. it has ended in the team's time zone (its cut-off: the next month's local midnight), and
2. every ``transactions`` daily partition of the month's booking days (the team's local dates,
   those inside the history) is materialized, the last day's after the team's cut-off: that
   fetch could see every booking the bank dated on the month's last local day.

Free of Dagster: the caller passes what the instance knows (materialized day keys, and when the
last day was last materialized), so the asset and the sensor decide alike and tests need no
instance.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta

from bg_agents.defs.reports.figures import month_bounds


def days_of(month: date, history_start: date) -> list[date]:
    """The month's booking days that exist as ``transactions`` partitions."""
    first, last, _, _ = month_bounds(month, "UTC")
    day, days = max(first, history_start), []
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return days


def why_not_ready(
    month: date,
    zone: str,
    now: datetime,
    history_start: date,
    materialized_days: Collection[str],
    last_fetched: Callable[[date], datetime | None],
) -> str | None:
    """None when the team's month can be reported, else the reason in words."""
    _, last, _, cutoff = month_bounds(month, zone)
    if now < cutoff:
        return f"{month:%Y-%m} ends at {cutoff:%Y-%m-%d %H:%M} UTC in {zone}"
    days = days_of(month, history_start)
    missing = [d for d in days if d.isoformat() not in materialized_days]
    if missing:
        return (
            f"{len(missing)} of its {len(days)} booking days not fetched yet "
            f"(first {missing[0].isoformat()})"
        )
    fetched = last_fetched(last)
    if fetched is None or fetched < cutoff:
        when = "never" if fetched is None else f"{fetched:%Y-%m-%d %H:%M} UTC"
        return (
            f"{last.isoformat()} last fetched {when}, before the month ended in {zone} "
            f"({cutoff:%Y-%m-%d %H:%M} UTC)"
        )
    return None
