"""``notify``: how producers tell a team something. One row per event key, whatever the retries.

A producer reports facts about a team (an invoice paid, a receipt matched, a file imported) with
the natural key of the fact; the engine decides who hears it, on which channels, alone or in a
digest (``flush.py``). Reporting the same key twice (a re-run, a backfill, two racing runs)
stores one event, so nobody is told twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from bg_agents.defs.notifications.flush import send_unbatched
from bg_agents.defs.notifications.policy import Policy, load_policy
from bg_agents.defs.notifications.texts import BODY_JOIN, Words
from bg_agents.lib import clock
from bg_agents.lib.db.models import NotificationEvent
from bg_agents.lib.db.upsert import insert_missing


@dataclass(frozen=True)
class Event:
    """A fact for a team; ``user_id`` addresses one member instead of the whole team.

    ``words`` (the title) and ``body_words`` (the body's sentences) let each reader read it in
    their own language (texts.py); ``title`` and ``body`` are then their English, when not given.
    """

    key: str
    team_id: int
    category: str
    title: str = ""
    body: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    words: Words | None = None
    body_words: tuple[Words, ...] = ()

    def __post_init__(self) -> None:
        if not self.title and self.words is None:
            raise ValueError(f"event {self.key!r} has neither a title nor words for one")

    def stored_words(self) -> dict[str, Any] | None:
        if self.words is None and not self.body_words:
            return None
        return {
            "title": self.words.as_json() if self.words else None,
            "body": [w.as_json() for w in self.body_words],
        }


def notify(
    conn: Connection,
    events: list[Event],
    now: datetime | None = None,
    *,
    policy: Policy | None = None,
) -> int:
    """Store the events whose key is new (in the caller's transaction); return how many.

    Events of unbatched categories (a receipt matched, the weekly insights) are sent in the same
    transaction: their in-app notification exists when the producer commits. Batched ones wait
    for ``flush`` to close their window.
    """
    policy = policy or load_policy()
    at = now or clock.now()
    rows = []
    for event in events:
        if not event.key or len(event.key) > 255:
            raise ValueError("an event key must be 1-255 characters")
        category = policy.of(event.category)
        rows.append(
            {
                "idempotency_key": event.key,
                "team_id": event.team_id,
                "user_id": event.user_id,
                "category": event.category,
                "title": (event.title or (event.words.english() if event.words else ""))[:200],
                "body": event.body or BODY_JOIN.join(w.english() for w in event.body_words),
                "words": event.stored_words(),
                "payload": event.payload,
                "batch_key": category.key_for(event.payload),
                "window_start": category.window_start(at),
                "created_at": at,
            }
        )
    new = insert_missing(conn, NotificationEvent, rows, ["idempotency_key"])
    if new:
        send_unbatched(conn, [r["idempotency_key"] for r in rows], at, policy=policy)
    return new
