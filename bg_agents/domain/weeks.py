"""ISO business weeks: Monday to Sunday, named by their Monday."""

from __future__ import annotations

from datetime import date, timedelta


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_days(monday: date) -> list[date]:
    if monday.weekday() != 0:
        raise ValueError(f"{monday} is not a Monday; ISO weeks start on Monday")
    return [monday + timedelta(days=i) for i in range(7)]


def last_complete_week(today: date) -> date:
    """The Monday of the last Monday-Sunday week that has fully ended before ``today``."""
    return week_start(today) - timedelta(days=7)
