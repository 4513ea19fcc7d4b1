"""``flush``: close due windows into messages and fan each message out into deliveries.

Per group of waiting events (team, addressee, category, batch key, window), in one transaction:
an unbatched category sends each event alone; a batched one sends the first event at once if the
policy says so, a digest as soon as ``max_items`` are waiting (the window's next part continues),
and the rest when the window has closed. A message's key names its window and part, so a flusher
that races another one (two sensor ticks, a producer flushing in-process) inserts nothing: the
unique key arbitrates, and the loser leaves the group to the winner.

Each message becomes one delivery per recipient and channel: every member of the team (or the one
member addressed) in-app and by e-mail, and each active webhook endpoint of the team, as the
members' preferences allow. In-app is delivered here; e-mail waits for the end of the member's
quiet hours; sending is ``deliver.py``'s.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from babel.numbers import format_decimal
from sqlalchemy.engine import Connection, Engine

from bg_agents.defs.notifications.policy import CategoryPolicy, Policy, load_policy
from bg_agents.defs.notifications.preferences import Preferences
from bg_agents.defs.notifications.texts import title_and_body, write
from bg_agents.lib import clock
from bg_agents.lib.db.models import (
    Notification,
    NotificationEvent,
    NotificationMessage,
    Team,
    User,
    WebhookEndpoint,
)
from bg_agents.lib.db.upsert import insert_missing
from bg_agents.lib.locales import resolve_locale

# A producer's transaction may commit a moment after the window its event fell in has ended; a
# window closes this long after its end, so such an event still makes its digest.
GRACE = timedelta(seconds=60)
# Waiting for a message: not sent yet and not withdrawn by its category's guard.
WAITING = sa.and_(NotificationEvent.message_id.is_(None), NotificationEvent.withdrawn_at.is_(None))
LIST_CAP = 10  # items listed in a digest's text; the rest are counted


@dataclass
class FlushResult:
    singles: int = 0
    digests: int = 0
    events: int = 0  # events that went into a message
    deliveries: Counter[str] = field(default_factory=Counter)  # by channel
    held: int = 0  # e-mails waiting for quiet hours to end

    def add(self, other: FlushResult) -> None:
        self.singles += other.singles
        self.digests += other.digests
        self.events += other.events
        self.deliveries.update(other.deliveries)
        self.held += other.held

    def as_metadata(self) -> dict[str, int]:
        return {
            "singles": self.singles,
            "digests": self.digests,
            "events_sent": self.events,
            "held_for_quiet_hours": self.held,
            **{f"deliveries_{channel}": n for channel, n in sorted(self.deliveries.items())},
        }


def email_enabled() -> bool:
    """E-mail deliveries exist only when an SMTP server is configured."""
    from bg_agents.defs.notifications.channels.email import email_configured
    from bg_agents.lib.settings import load_settings

    return email_configured(load_settings())


def flush(
    engine: Engine,
    now: datetime | None = None,
    *,
    email: bool | None = None,
    policy: Policy | None = None,
) -> FlushResult:
    """Close what is due at ``now`` and create its deliveries; safe to run concurrently.

    ``email``: whether e-mail deliveries are created (default: an SMTP server is configured).
    """
    now = now or clock.now()
    email = email_enabled() if email is None else email
    policy = policy or load_policy()
    result = FlushResult()
    waiting = WAITING
    group = (
        NotificationEvent.team_id,
        NotificationEvent.user_id,
        NotificationEvent.category,
        NotificationEvent.batch_key,
        NotificationEvent.window_start,
    )
    with engine.connect() as conn:
        groups = conn.execute(
            sa.select(*group, sa.func.count()).where(waiting).group_by(*group)
        ).all()
    for team_id, user_id, category, batch_key, window_start, waiting_count in groups:
        rules = _rules(policy, category)
        if not _maybe_due(rules, window_start, waiting_count, now):
            continue  # an open window below max_items: nothing to send, no transaction
        in_group = (
            waiting,
            NotificationEvent.team_id == team_id,
            NotificationEvent.user_id.is_(None)
            if user_id is None
            else NotificationEvent.user_id == user_id,
            NotificationEvent.category == category,
            NotificationEvent.batch_key == batch_key,
            NotificationEvent.window_start == window_start,
        )
        sent = FlushResult()  # counted into the result once its transaction commits
        try:
            with engine.begin() as conn:
                group_key = f"{team_id}:{user_id}:{category}:{batch_key}:{window_start}"
                waiting_events = _guarded(conn, rules, _claim(conn, in_group, group_key), now)
                for chosen, kind, part in _plan(conn, rules, waiting_events, now):
                    _send(conn, rules, chosen, kind, part, now, email, sent)
        except _RaceLost:
            continue  # another flusher sent this window: its transaction has it all
        result.add(sent)
    return result


def send_unbatched(
    conn: Connection,
    keys: list[str],
    now: datetime,
    *,
    email: bool | None = None,
    policy: Policy | None = None,
) -> FlushResult:
    """Send the just-reported events of unbatched categories in the producer's transaction, so
    "immediate" is at commit, not at the next flush. An event another transaction holds (a rival
    producer reporting the same key) is left to it."""
    policy = policy or load_policy()
    unbatched = [name for name, rules in policy.categories.items() if not rules.batched]
    query = (
        sa.select(NotificationEvent)
        .where(
            NotificationEvent.idempotency_key.in_(keys),
            WAITING,
            NotificationEvent.category.in_(unbatched),
        )
        .order_by(NotificationEvent.id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    result = FlushResult()
    events = conn.execute(query).all()
    if events:
        email = email_enabled() if email is None else email
    for event in events:
        rules = _rules(policy, event.category)
        for kept in _guarded(conn, rules, [event], now):
            _send(conn, rules, [kept], "single", 0, now, email, result)
    return result


def _guarded(conn: Connection, rules: CategoryPolicy, events: list, now: datetime) -> list:  # type: ignore[type-arg]
    """The events the category's guard still lets through; the others are withdrawn (never
    sent, never waiting again) with the guard's reason. A reminder decided at 09:00 is sent at
    the end of its 30-minute window: an invoice paid meanwhile must not be in the digest."""
    guard = rules.guard_function()
    if guard is None or not events:
        return events
    withdrawn = guard(conn, events)
    if not withdrawn:
        return events
    for key, reason in withdrawn.items():
        conn.execute(
            sa.update(NotificationEvent)
            .where(NotificationEvent.idempotency_key == key, WAITING)
            .values(withdrawn_at=now, withdrawn_reason=str(reason)[:200])
        )
    return [e for e in events if e.idempotency_key not in withdrawn]


def _rules(policy: Policy, category: str) -> CategoryPolicy:
    """The category's policy; a category since removed from the policy sends its waiting events
    alone, so one edit of ``policy.toml`` cannot stall every later flush."""
    known = policy.categories.get(category)
    if known is not None:
        return known
    return CategoryPolicy(category, timedelta(0), "{category}", 1, False, {})


def _maybe_due(rules: CategoryPolicy, window_start: datetime, waiting: int, now: datetime) -> bool:
    """Whether a group can have a message due (``_plan`` decides exactly, under the lock)."""
    return (
        not rules.batched
        or rules.first_at_once
        or waiting >= rules.max_items
        or now >= window_start + rules.window + GRACE
    )


class _RaceLost(Exception):
    """Another flusher inserted the message first; this group's transaction is rolled back."""


def _claim(conn: Connection, in_group: tuple, group_key: str) -> list:  # type: ignore[type-arg]
    """The group's waiting events, with the group locked for this transaction.

    Without a lock, a flusher could read the events before a rival commits their digest and count
    the rival's digest after, and send the same events as the window's next part. Row locks are
    not enough: two flushers locking rows with SKIP LOCKED can each get part of a group (one
    digest of 6 events and one event left behind, found by the two-process test). So on
    PostgreSQL the whole group is one transaction-scoped advisory lock, and a rival that cannot
    take it leaves the group to the holder; on SQLite a no-op write takes the database's write
    lock before the read.
    """
    query = sa.select(NotificationEvent).where(*in_group).order_by(NotificationEvent.id)
    if conn.dialect.name == "postgresql":
        lock = sa.func.pg_try_advisory_xact_lock(sa.func.hashtext(group_key))
        if not conn.scalar(sa.select(lock)):
            raise _RaceLost
        return conn.execute(query).all()
    conn.execute(sa.update(NotificationEvent).where(*in_group).values(message_id=None))
    return conn.execute(query).all()


def _plan(
    conn: Connection, rules: CategoryPolicy, events: list, now: datetime
) -> list[tuple[list, str, int]]:
    """The messages this group is due: (events, kind, part) in order."""
    if not events:
        return []
    if not rules.batched:
        return [([e], "single", 0) for e in events]
    first = events[0]
    sent_before = conn.execute(
        sa.select(NotificationMessage.kind).where(
            NotificationMessage.team_id == first.team_id,
            NotificationMessage.user_id.is_(None)
            if first.user_id is None
            else NotificationMessage.user_id == first.user_id,
            NotificationMessage.category == first.category,
            NotificationMessage.batch_key == first.batch_key,
            NotificationMessage.window_start == first.window_start,
        )
    ).scalars()
    kinds = Counter(sent_before)
    plan: list[tuple[list, str, int]] = []
    rest = list(events)
    if rules.first_at_once and not kinds:
        plan.append(([rest.pop(0)], "first", 0))
    part = kinds["digest"] + kinds["single"]
    while len(rest) >= rules.max_items:
        plan.append((rest[: rules.max_items], "digest", part))
        rest, part = rest[rules.max_items :], part + 1
    closes_at = first.window_start + rules.window + GRACE
    if rest and now >= closes_at:
        plan.append((rest, "digest" if len(rest) > 1 else "single", part))
    return plan


def _message_key(rules: CategoryPolicy, event, kind: str, part: int) -> str:  # type: ignore[no-untyped-def]
    """Unbatched and first-at-once messages are keyed by their event; digests by their window."""
    if not rules.batched or kind == "first":
        return _short(f"{kind}:{event.idempotency_key}")
    addressee = "team" if event.user_id is None else f"user{event.user_id}"
    window = event.window_start.isoformat()
    where = f"{event.team_id}:{addressee}:{event.category}:{event.batch_key}"
    return _short(f"window:{where}:{window}:{part}")


def _short(key: str) -> str:
    """Keys over the column's 255 characters keep their start and a hash of the whole."""
    if len(key) <= 255:
        return key
    return key[:190] + ":" + hashlib.sha256(key.encode()).hexdigest()


def _send(
    conn: Connection,
    rules: CategoryPolicy,
    events: list,
    kind: str,
    part: int,
    now: datetime,
    email: bool,
    result: FlushResult,
) -> None:
    """Insert the message, attach its events, fan it out; ``_RaceLost`` if a rival was first."""
    first = events[0]
    team = conn.execute(sa.select(Team).where(Team.id == first.team_id)).one()
    key = _message_key(rules, first, kind, part)
    title, body, payload = _content(rules, events, team.locale)
    inserted = insert_missing(
        conn,
        NotificationMessage,
        [
            {
                "idempotency_key": key,
                "team_id": first.team_id,
                "user_id": first.user_id,
                "category": first.category,
                "kind": kind,
                "batch_key": first.batch_key,
                "window_start": first.window_start if rules.batched else None,
                "part": part,
                "item_count": len(events),
                "title": title,
                "body": body,
                "payload": payload,
                "created_at": now,
            }
        ],
        ["idempotency_key"],
    )
    if not inserted:
        raise _RaceLost
    message_id = conn.execute(
        sa.select(NotificationMessage.id).where(NotificationMessage.idempotency_key == key)
    ).scalar_one()
    claimed = conn.execute(
        sa.update(NotificationEvent)
        .where(
            NotificationEvent.id.in_([e.id for e in events]), NotificationEvent.message_id.is_(None)
        )
        .values(message_id=message_id)
    ).rowcount
    if claimed != len(events):
        raise _RaceLost
    result.events += len(events)
    if kind == "digest":
        result.digests += 1
    else:
        result.singles += 1
    _fan_out(conn, rules, team, events, key, message_id, now, email, result)


def _content(rules: CategoryPolicy, events: list, locale: str) -> tuple[str, str, dict]:
    """Title, text and payload in ``locale``: the event itself, or a digest."""
    items = []
    for e in events:
        title, body = title_and_body(e, locale)
        items.append({"key": e.idempotency_key, "title": title, "body": body})
    if len(events) == 1:
        only = items[0]
        return only["title"], only["body"], {**events[0].payload, "items": items, "more": 0}
    # resolve_locale: a malformed locale ("de-AT") reads as well as it can
    count = format_decimal(len(events), locale=resolve_locale(locale))
    title = f"{count} {rules.noun(locale, len(events))}"
    listed = [write("digest_heading", locale, what=title)]
    listed += [f"- {item['title']}" for item in items[:LIST_CAP]]
    more = len(items) - LIST_CAP
    if more > 0:
        listed.append(write("digest_more", locale, n=more))
    return title, "\n".join(listed), {"items": items[:LIST_CAP], "more": max(more, 0)}


def _fan_out(
    conn: Connection,
    rules: CategoryPolicy,
    team: sa.Row,
    events: list,
    message_key: str,
    message_id: int,
    now: datetime,
    email: bool,
    result: FlushResult,
) -> None:
    """One delivery per recipient and channel the preferences allow."""
    first = events[0]
    users = conn.execute(
        sa.select(User).where(
            User.team_id == team.id, *([User.id == first.user_id] if first.user_id else [])
        )
    ).all()
    rows = []
    contents: dict[str, tuple[str, str, dict]] = {}  # by locale: members mostly share one
    for user in users:
        prefs = Preferences.of(user.notification_prefs)
        locale = user.locale or team.locale
        if locale not in contents:
            contents[locale] = _content(rules, events, locale)
        title, body, payload = contents[locale]
        common = {
            "team_id": team.id,
            "user_id": user.id,
            "endpoint_id": None,
            "message_id": message_id,
            "category": first.category,
            "title": title[:200],
            "body": body,
            "payload": payload,
            "created_at": now,
        }
        if prefs.allows(first.category, "in_app"):
            rows.append(
                {
                    **common,
                    "idempotency_key": _short(f"{message_key}|in_app|u{user.id}"),
                    "channel": "in_app",
                    "status": "delivered",
                    "attempts": 1,
                    "next_attempt_at": None,
                    "delivered_at": now,
                }
            )
        if email and user.email and prefs.allows(first.category, "email"):
            quiet_end = prefs.quiet_until(now, user.time_zone or team.time_zone)
            rows.append(
                {
                    **common,
                    "idempotency_key": _short(f"{message_key}|email|u{user.id}"),
                    "channel": "email",
                    "status": "held" if quiet_end else "pending",
                    "attempts": 0,
                    "next_attempt_at": quiet_end or now,
                    "delivered_at": None,
                }
            )
            result.held += bool(quiet_end)
    if first.user_id is None:
        title, body, payload = contents.get(team.locale) or _content(rules, events, team.locale)
        for endpoint_id in conn.execute(
            sa.select(WebhookEndpoint.id).where(
                WebhookEndpoint.team_id == team.id, WebhookEndpoint.active
            )
        ).scalars():
            rows.append(
                {
                    "team_id": team.id,
                    "user_id": None,
                    "endpoint_id": endpoint_id,
                    "message_id": message_id,
                    "category": first.category,
                    "title": title[:200],
                    "body": body,
                    "payload": payload,
                    "created_at": now,
                    "idempotency_key": _short(f"{message_key}|webhook|e{endpoint_id}"),
                    "channel": "webhook",
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "delivered_at": None,
                }
            )
    insert_missing(conn, Notification, rows, ["idempotency_key"])
    result.deliveries.update(r["channel"] for r in rows)
