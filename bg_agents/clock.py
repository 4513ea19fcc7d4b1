"""The one clock: every "now" in schedules, sensors and agents comes from here.

``BG_AGENTS_NOW`` (an ISO instant with offset, e.g. ``2026-11-23T07:00:00+05:30``) pins it, so a
demo or a test can stand at any moment (a DST change, a missed tick) without touching the code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime


def now() -> datetime:
    pinned = os.environ.get("BG_AGENTS_NOW")
    if not pinned:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(pinned)
    except ValueError:
        raise ValueError(f"BG_AGENTS_NOW must be an ISO instant, not {pinned!r}") from None
    if value.tzinfo is None:
        raise ValueError("BG_AGENTS_NOW needs a UTC offset, e.g. 2026-11-23T07:00:00+00:00")
    return value.astimezone(UTC)
