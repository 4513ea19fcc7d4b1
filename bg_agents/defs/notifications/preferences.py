"""A user's notification preferences: the format of ``users.notification_prefs`` and its rules.

The JSON, every key optional (a missing key means "on", "no quiet hours", "subscribed")::

    {"off": {"invoice.paid": ["email"], "*": ["webhook"]},   # category (or *) -> channels off
     "quiet_hours": {"start": "22:00", "end": "07:00"},       # local wall clock, may wrap midnight
     "unsubscribed": true}                                    # e-mail off for everything

Users simulated before this format hold ``{"in_app": bool, "email": bool, "weekly_insights": bool,
"muted": [categories]}``; it is read as the rules it meant (a channel off, a category off), and the
first change rewrites it in the format above. Junk never breaks delivery: an unknown key is kept as
is, a bad value is ignored and the reason kept in :attr:`Preferences.problems`.

Quiet hours follow the user's wall clock, so they hold across a DST change: 22:00-07:00 lasts 10
hours on a fall-back night, and a period starting in the skipped hour starts when the clock jumps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bg_agents.defs.notifications.outbox import CHANNELS
from bg_agents.defs.notifications.policy import load_policy

ANY = "*"
LEGACY_KEYS = ("in_app", "email", "weekly_insights", "muted")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def categories() -> tuple[str, ...]:
    """The categories a user can switch: the policy's (``policy.toml``), in its order."""
    return tuple(load_policy().categories)


def canonical_category(name: str) -> str:
    """A legacy name (``transactions_synced``) as the category it meant, else ``name``."""
    known = categories()
    if name in known or name == ANY:
        return name
    dotted = name.replace("_", ".", 1)
    return dotted if dotted in known else name


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def as_json(self) -> dict[str, str]:
        return {"start": f"{self.start:%H:%M}", "end": f"{self.end:%H:%M}"}


def parse_clock(text: object) -> time:
    if not isinstance(text, str) or not _HHMM.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a time HH:MM (00:00-23:59)")
    hours, minutes = text.strip().split(":")
    return time(int(hours), int(minutes))


def parse_quiet(text: str) -> QuietHours:
    """``22:00-07:00`` (the CLI's form): ValueError saying what is wrong."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours {text!r} are not HH:MM-HH:MM, e.g. 22:00-07:00")
    return _quiet(parse_clock(start), parse_clock(end))


def _quiet(start: time, end: time) -> QuietHours:
    if start == end:
        # Empty or all day? Neither is what anyone types on purpose: refuse rather than guess.
        raise ValueError(f"quiet hours start and end at {start:%H:%M}: give two different times")
    return QuietHours(start, end)


def parse_pair(text: str) -> tuple[str, str]:
    """``CATEGORY:CHANNEL`` with ``*`` for either: ValueError naming what is allowed."""
    category, sep, channel = text.strip().partition(":")
    if not sep:
        raise ValueError(f"{text!r} is not CATEGORY:CHANNEL, e.g. invoice.paid:email or *:webhook")
    category, channel = canonical_category(category.strip()), channel.strip()
    if category != ANY and category not in categories():
        raise ValueError(
            f"unknown category {category!r}; expected * or one of {', '.join(categories())}"
        )
    if channel != ANY and channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected * or one of {', '.join(CHANNELS)}")
    return category, channel


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone, or UTC for a missing or unknown name (a bad row must not stop delivery)."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def first_at_or_after(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` at which the local clock reads ``wall`` or later, in UTC.

    An ambiguous time (the repeated hour of a fall-back night) is its first occurrence; a time
    that does not exist (the skipped hour of a spring-forward night) is the instant the clock
    jumps over it, found by bisecting between the two readings PEP 495 gives it.
    """
    local = datetime.combine(day, wall, tzinfo=tz)
    at = local.astimezone(UTC)
    if at.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return at
    lo, hi = sorted((int(local.replace(fold=1).timestamp()), int(at.timestamp())))
    before = datetime.fromtimestamp(lo, UTC).astimezone(tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


@dataclass(frozen=True)
class Preferences:
    """What a user allows; build with :meth:`of`, change with :meth:`with_change`."""

    # category (or "*") -> channels off; channels always concrete ("*" is expanded on reading).
    off: Mapping[str, frozenset[str]] = field(default_factory=dict)
    quiet: QuietHours | None = None
    unsubscribed: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)  # unknown keys, written back as is
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: object) -> Preferences:
        """Read stored JSON, new or legacy format, ignoring what cannot be understood."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            return cls(problems=(f"preferences are not an object ({type(data).__name__})",))
        problems: list[str] = []
        off: dict[str, set[str]] = {}

        def turn_off(category: str, channels: Iterable[str]) -> None:
            off.setdefault(canonical_category(category), set()).update(channels)

        # Legacy: channel switches, the insights switch and muted categories.
        for channel in ("in_app", "email"):
            if data.get(channel) is False:
                turn_off(ANY, [channel])
        if data.get("weekly_insights") is False:
            turn_off("weekly_insights", CHANNELS)
        muted = data.get("muted", [])
        if isinstance(muted, list) and all(isinstance(m, str) for m in muted):
            for category in muted:
                turn_off(category, CHANNELS)
        else:
            problems.append("muted ignored: not a list of categories")

        raw_off = data.get("off", {})
        if isinstance(raw_off, Mapping):
            for category, channels in raw_off.items():
                if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
                    problems.append(f"off.{category} ignored: not a list of channels")
                    continue
                unknown = sorted(set(channels) - set(CHANNELS) - {ANY})
                if unknown:
                    problems.append(f"off.{category}: unknown channels ignored: {unknown}")
                turn_off(category, CHANNELS if ANY in channels else set(channels) & set(CHANNELS))
        else:
            problems.append("off ignored: not an object of category -> channels")

        quiet = None
        raw_quiet = data.get("quiet_hours")
        if raw_quiet is not None:
            try:
                if not isinstance(raw_quiet, Mapping):
                    raise ValueError("not an object with start and end")
                quiet = _quiet(
                    parse_clock(raw_quiet.get("start")), parse_clock(raw_quiet.get("end"))
                )
            except ValueError as exc:
                problems.append(f"quiet_hours ignored: {exc}")

        unsubscribed = data.get("unsubscribed", False)
        if not isinstance(unsubscribed, bool):
            problems.append("unsubscribed ignored: not true or false")
            unsubscribed = False

        known = {*LEGACY_KEYS, "off", "quiet_hours", "unsubscribed"}
        return cls(
            off={c: frozenset(chs) for c, chs in off.items() if chs},
            quiet=quiet,
            unsubscribed=unsubscribed,
            extra={k: v for k, v in data.items() if k not in known},
            problems=tuple(problems),
        )

    def allows(self, category: str, channel: str) -> bool:
        """Whether ``category`` may reach this user on ``channel`` (default: yes)."""
        if channel == "email" and self.unsubscribed:
            return False
        category = canonical_category(category)
        return channel not in self.off.get(category, ()) and channel not in self.off.get(ANY, ())

    def quiet_until(self, now: datetime, tz_name: str | None) -> datetime | None:
        """The UTC instant quiet hours end if ``now`` falls inside them, else None.

        ``tz_name`` is the user's zone, else the team's. Held channels (e-mail, webhooks) wait
        until then; in-app is never held, so callers do not ask for it.
        """
        if self.quiet is None:
            return None
        if now.tzinfo is None:
            raise ValueError("quiet_until needs an aware instant (UTC)")
        tz = zone(tz_name)
        start, end = self.quiet.start, self.quiet.end
        today = now.astimezone(tz).date()
        # Only a period that started yesterday or today can contain now.
        for day in (today - timedelta(days=1), today):
            begins = first_at_or_after(day, start, tz)
            ends = first_at_or_after(day if end > start else day + timedelta(days=1), end, tz)
            if begins <= now < ends:
                return ends
        return None

    def with_change(
        self,
        *,
        off: Iterable[tuple[str, str]] = (),
        on: Iterable[tuple[str, str]] = (),
        quiet: QuietHours | None = None,
        clear_quiet: bool = False,
        subscribed: bool | None = None,
    ) -> Preferences:
        """A copy with pairs turned off, then pairs turned on (so ``on`` carves exceptions out
        of a wider ``off``), quiet hours set or cleared, and the e-mail subscription set.

        Turning one category back on under a ``*`` rule lists today's other categories
        explicitly: a category the policy gains later is then on, as defaults are."""
        rules = {c: set(chs) for c, chs in self.off.items()}
        for category, channel in off:
            rules.setdefault(category, set()).update(_channels(channel))
        for category, channel in on:
            wanted = _channels(channel)
            if category == ANY:
                for chs in rules.values():
                    chs -= wanted
                continue
            rules.get(category, set()).difference_update(wanted)
            carved = rules.get(ANY, set()) & wanted
            if carved:
                rules[ANY] -= carved
                for other in categories():
                    if other != category:
                        rules.setdefault(other, set()).update(carved)
        return replace(
            self,
            off={c: frozenset(chs) for c, chs in rules.items() if chs},
            quiet=None if clear_quiet else quiet or self.quiet,
            unsubscribed=self.unsubscribed if subscribed is None else not subscribed,
            problems=(),
        )

    def as_json(self) -> dict[str, Any]:
        """The stored form (the current format; legacy keys are folded into ``off``)."""
        order = {c: i for i, c in enumerate((ANY, *categories()))}
        data: dict[str, Any] = dict(self.extra)
        if self.off:
            data["off"] = {
                c: [ch for ch in CHANNELS if ch in self.off[c]]
                for c in sorted(self.off, key=lambda c: (order.get(c, len(order)), c))
            }
        if self.quiet is not None:
            data["quiet_hours"] = self.quiet.as_json()
        if self.unsubscribed:
            data["unsubscribed"] = True
        return data

    def effective(self) -> dict[str, dict[str, bool]]:
        """Every category of the policy x channel: on or off."""
        return {c: {ch: self.allows(c, ch) for ch in CHANNELS} for c in categories()}


def _channels(channel: str) -> set[str]:
    return set(CHANNELS) if channel == ANY else {channel}
