"""ISO business weeks: Monday to Sunday, named by their Monday."""

from __future__ import annotations

from datetime import date, timedelta


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_complete_week(today: date) -> date:
    """The Monday of the last Monday-Sunday week that has fully ended before ``today``."""
    return week_start(today) - timedelta(days=7)


def last_complete_week_end(today: date) -> date:
    """The Sunday that ends the last complete ISO week before ``today``'s week."""
    return last_complete_week(today) + timedelta(days=6)
