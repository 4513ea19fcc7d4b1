"""The one clock: every "now" in schedules, sensors and agents comes from here.

``BG_AGENTS_NOW`` (an ISO instant with offset, e.g. ``2026-11-23T07:00:00+05:30``) pins it, so a
demo or a test can stand at any moment (a DST change, a missed tick) without touching the code.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bg_agents.lib.settings import pinned_now


def now() -> datetime:
    """The pinned instant (validated with every other setting), else the real time, in UTC."""
    return pinned_now() or datetime.now(UTC)


def wall() -> datetime:
    """The real time, whatever is pinned: only for what another party checks against its own
    clock (a webhook's signature timestamp, a receiver's Retry-After date). A demo pinned to
    last Monday still signs with today's time, or every receiver would refuse it as stale."""
    return datetime.now(UTC)
