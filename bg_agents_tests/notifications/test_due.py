"""``due``: the sensor's question, answered exactly when flush and deliver would act, on SQLite and
PostgreSQL: a window at its close (not a second before), an unbatched event, a full digest and a
first-at-once event at once, a delivery at its next attempt, and nothing once all is sent."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bg_agents.defs.notifications.due import anything_due, due, next_due
from bg_agents.defs.notifications.events import Event, notify
from bg_agents.defs.notifications.flush import flush
from bg_agents.defs.notifications.policy import POLICY_FILE, parse_policy
from bg_agents.lib.db.models import (
    Notification,
    NotificationEvent,
    Team,
    User,
    WebhookEndpoint,
)

T0 = datetime(2026, 3, 2, 9, 3, tzinfo=UTC)  # inside the 09:00-09:10 window of invoice.paid
CLOSE = datetime(2026, 3, 2, 9, 11, tzinfo=UTC)  # window end + flush's one-minute grace


def _team(conn) -> int:  # type: ignore[no-untyped-def]
    team = conn.execute(
        sa.insert(Team).returning(Team.id),
        {"slug": "a", "name": "A", "time_zone": "UTC", "base_currency": "EUR", "locale": "en_US"},
    ).scalar_one()
    conn.execute(sa.insert(User), {"team_id": team, "email": "u@a.test", "name": "U"})
    return team


def _paid(team: int, n: int, start: int = 0) -> list[Event]:
    keys = range(start, start + n)
    return [Event(f"paid:{i}", team, "invoice.paid", f"Invoice {i} paid") for i in keys]


def _policy(**paid: object):  # type: ignore[no-untyped-def]
    with POLICY_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    data["categories"]["invoice.paid"].update(paid)
    return parse_policy(data)


def test_an_empty_outbox_has_nothing_due_and_says_so(engine) -> None:  # type: ignore[no-untyped-def]
    work = due(engine, T0)
    assert (work.window, work.delivery, work.next) == (None, None, None)
    assert not work.at(T0)
    assert work.describe() == "nothing due; no event waiting and no delivery to retry"


def test_a_window_is_due_when_flush_would_close_it_not_a_second_before(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        notify(conn, _paid(_team(conn), 3), T0)
    assert next_due(engine, T0) == CLOSE
    assert "next window closes at 2026-03-02 09:11:00 UTC" in due(engine, T0).describe()
    early = CLOSE - timedelta(seconds=1)
    assert not anything_due(engine, early)
    assert flush(engine, early, email=False).digests == 0, "flush agrees: not yet"
    assert anything_due(engine, CLOSE)
    assert flush(engine, CLOSE, email=False).digests == 1
    assert due(engine, CLOSE).next is None


def test_an_unbatched_event_left_waiting_is_due_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    # notify sends these in the producer's transaction; one left waiting (its sender skipped a
    # row a rival held, a row written by hand) is flush's to send, at once.
    with engine.begin() as conn:
        conn.execute(sa.insert(NotificationEvent), {
            "idempotency_key": "doc", "team_id": _team(conn), "category": "document.matched",
            "title": "Receipt matched", "body": "", "payload": {},
            "batch_key": "document.matched", "window_start": T0, "created_at": T0,
        })  # fmt: skip
    assert anything_due(engine, T0)
    assert next_due(engine, T0) == T0
    assert flush(engine, T0, email=False).singles == 1
    assert next_due(engine, T0) is None


def test_a_full_digest_is_due_at_once_and_the_window_continues(engine) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(max_items=3)
    with engine.begin() as conn:
        team = _team(conn)
        notify(conn, _paid(team, 2), T0, policy=policy)
    assert not anything_due(engine, T0, policy=policy)
    with engine.begin() as conn:
        notify(conn, _paid(team, 1, start=2), T0, policy=policy)
    assert anything_due(engine, T0, policy=policy)
    assert flush(engine, T0, email=False, policy=policy).digests == 1
    with engine.begin() as conn:
        notify(conn, _paid(team, 1, start=3), T0, policy=policy)
    assert next_due(engine, T0, policy=policy) == CLOSE, "the rest waits for the close"


def test_a_first_at_once_event_is_due_at_once_and_the_rest_at_the_close(engine) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(first_at_once=True)
    with engine.begin() as conn:
        team = _team(conn)
        notify(conn, _paid(team, 1), T0, policy=policy)
    assert anything_due(engine, T0, policy=policy)
    result = flush(engine, T0, email=False, policy=policy)
    assert (result.singles, result.digests) == (1, 0)
    with engine.begin() as conn:
        notify(conn, _paid(team, 2, start=1), T0, policy=policy)
    assert next_due(engine, T0, policy=policy) == CLOSE, "the window's first went already"


def test_a_delivery_is_due_at_its_next_attempt(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn)
        conn.execute(sa.insert(WebhookEndpoint), {"team_id": team, "url": "http://127.0.0.1:9/h",
                                                   "secret": "s"})  # fmt: skip
        notify(conn, [Event("doc", team, "document.matched", "Receipt matched")], T0)
    flush(engine, T0, email=False)
    work = due(engine, T0)
    assert (work.window, work.delivery) == (None, T0), "the webhook is pending, in-app is done"
    retry = T0 + timedelta(minutes=2)
    with engine.begin() as conn:
        conn.execute(sa.update(Notification).where(Notification.channel == "webhook")
                     .values(status="failed", next_attempt_at=retry))  # fmt: skip
    assert not anything_due(engine, T0)
    assert due(engine, T0).describe() == (
        "nothing due; next delivery attempt at 2026-03-02 09:05:00 UTC"
    )
    assert anything_due(engine, retry)
    with engine.begin() as conn:
        conn.execute(sa.update(Notification).values(status="dead", next_attempt_at=None))
    assert next_due(engine, retry) is None, "a dead letter is never due again"
