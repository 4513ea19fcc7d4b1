"""The notification engine: events become single messages or one digest per window, fanned out to
each member and channel the preferences allow, once, whoever flushes and however often."""

from __future__ import annotations

import multiprocessing
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bg_agents.defs.notifications.events import Event, notify
from bg_agents.defs.notifications.flush import GRACE, flush
from bg_agents.defs.notifications.policy import POLICY_FILE, parse_policy
from bg_agents.lib.db.models import (
    Notification,
    NotificationEvent,
    NotificationMessage,
    Team,
    User,
    WebhookEndpoint,
)

T0 = datetime(2026, 3, 2, 10, 1, tzinfo=UTC)  # inside the 10:00-10:10 window


def _team(conn, slug: str = "a", locale: str = "en_US", users: int = 2) -> int:  # type: ignore[no-untyped-def]
    team = conn.execute(
        sa.insert(Team).returning(Team.id),
        {"slug": slug, "name": slug.upper(), "time_zone": "Europe/Berlin",
         "base_currency": "EUR", "locale": locale},
    ).scalar_one()  # fmt: skip
    for i in range(users):
        conn.execute(
            sa.insert(User), {"team_id": team, "email": f"u{i}@{slug}.test", "name": f"U{i}"}
        )
    return team


def _paid(team: int, n: int, start: int = 0) -> list[Event]:
    return [
        Event(f"paid:{team}:{i}", team, "invoice.paid", f"Invoice RE-{i} paid", "100.00 EUR")
        for i in range(start, start + n)
    ]


def _count(engine, model, *where) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_an_immediate_category_sends_each_event_alone_to_every_member(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn)
        events = [Event(f"doc:{i}", team, "document.matched", f"Receipt {i}") for i in range(2)]
        assert notify(conn, events, T0) == 2
        assert notify(conn, events, T0) == 0, "the same keys again store nothing"
    # Sent when the producer committed, not at the next flush: 2 events x 2 members in-app.
    assert _count(engine, Notification, Notification.status == "delivered") == 4
    assert _count(engine, NotificationMessage, NotificationMessage.kind == "single") == 2
    assert flush(engine, T0 + timedelta(hours=1), email=False).singles == 0


def test_a_window_becomes_one_digest_when_it_closes(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn)
        notify(conn, _paid(team, 3), T0)
        notify(conn, _paid(team, 2, start=3), T0 + timedelta(minutes=8))
    window_end = datetime(2026, 3, 2, 10, 10, tzinfo=UTC)
    assert flush(engine, window_end, email=False).digests == 0, "closes only after the grace"
    result = flush(engine, window_end + GRACE, email=False)
    assert (result.digests, result.events) == (1, 5)
    with engine.connect() as conn:
        (message,) = conn.execute(sa.select(NotificationMessage)).all()
        assert message.title == "5 invoices paid" and message.item_count == 5
        assert message.body.splitlines()[:2] == ["5 invoices paid:", "- Invoice RE-0 paid"]
        inbox = conn.execute(sa.select(Notification.title, Notification.user_id)).all()
    assert sorted(inbox) == [("5 invoices paid", 1), ("5 invoices paid", 2)]
    assert flush(engine, window_end + timedelta(hours=1), email=False).digests == 0


def test_events_of_the_next_window_wait_for_their_own_digest(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn)
        notify(conn, _paid(team, 2), T0)
        notify(conn, _paid(team, 1, start=2), T0 + timedelta(minutes=10))
    first = flush(engine, T0 + timedelta(minutes=10), email=False)
    assert (first.digests, first.singles) == (1, 0)
    second = flush(engine, T0 + timedelta(minutes=20), email=False)
    assert (second.digests, second.singles) == (0, 1), "a window of one event is sent as itself"


def test_max_items_sends_a_full_digest_at_once_and_the_window_continues(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn, users=1)
        notify(conn, _paid(team, 120), T0)
    early = flush(engine, T0 + timedelta(minutes=2), email=False)
    assert (early.digests, early.events) == (2, 100), "two full parts of 50 go before the close"
    late = flush(engine, T0 + timedelta(minutes=11), email=False)
    assert (late.digests, late.events) == (1, 20)
    with engine.connect() as conn:
        parts = conn.execute(
            sa.select(NotificationMessage.part, NotificationMessage.item_count).order_by(
                NotificationMessage.part
            )
        ).all()
        listed = conn.execute(sa.select(NotificationMessage.body)).scalars().first()
    assert parts == [(0, 50), (1, 50), (2, 20)]
    assert listed.splitlines()[-1] == "and 40 more"
    assert _count(engine, NotificationEvent, NotificationEvent.message_id.is_(None)) == 0


def test_first_at_once_then_the_rest_batched(engine) -> None:  # type: ignore[no-untyped-def]
    policy = parse_policy(
        {"categories": {"invoice.paid": {"window_minutes": 10, "first_at_once": True}}}
    )
    with engine.begin() as conn:
        team = _team(conn, users=1)
        notify(conn, _paid(team, 1), T0, policy=policy)
    now = flush(engine, T0, email=False, policy=policy)
    assert (now.singles, now.digests) == (1, 0), "the first event goes at once"
    with engine.begin() as conn:
        notify(conn, _paid(team, 3, start=1), T0 + timedelta(minutes=1), policy=policy)
    assert flush(engine, T0 + timedelta(minutes=2), email=False, policy=policy).singles == 0
    rest = flush(engine, T0 + timedelta(minutes=11), email=False, policy=policy)
    assert (rest.singles, rest.digests, rest.events) == (0, 1, 3)


def test_a_batch_key_never_merges_two_teams(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        a, b = _team(conn, "a", users=1), _team(conn, "b", users=1)
        notify(conn, _paid(a, 2) + _paid(b, 3), T0)
    result = flush(engine, T0 + timedelta(minutes=11), email=False)
    assert result.digests == 2
    with engine.connect() as conn:
        got = conn.execute(sa.select(Notification.team_id, Notification.title)).all()
    assert sorted(got) == [(a, "2 invoices paid"), (b, "3 invoices paid")]


def test_a_digest_speaks_the_members_language(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn, "de", locale="de_DE", users=2)
        conn.execute(sa.update(User).where(User.email == "u1@de.test").values(locale="fr_FR"))
        notify(conn, _paid(team, 1500), T0)
    with POLICY_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    data["categories"]["invoice.paid"]["max_items"] = 2000  # the whole window in one digest
    flush(engine, T0 + timedelta(minutes=11), email=False, policy=parse_policy(data))
    with engine.connect() as conn:
        titles = dict(
            conn.execute(
                sa.select(User.email, Notification.title).join(
                    User, User.id == Notification.user_id
                )
            ).all()
        )
        message = conn.execute(sa.select(NotificationMessage.title)).scalar_one()
    assert titles == {
        "u0@de.test": "1.500 Rechnungen bezahlt",
        "u1@de.test": "1\u202f500 factures payées",
    }
    assert message == "1.500 Rechnungen bezahlt"


def test_preferences_decide_channels_and_quiet_hours_hold_email(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn, users=3)
        conn.execute(
            sa.update(User)
            .where(User.email == "u1@a.test")
            .values(notification_prefs={"off": {"invoice.paid": ["in_app"]}})
        )
        conn.execute(
            sa.update(User)
            .where(User.email == "u2@a.test")
            .values(notification_prefs={"quiet_hours": {"start": "10:00", "end": "18:00"}})
        )
        conn.execute(sa.insert(WebhookEndpoint), {"team_id": team, "url": "http://127.0.0.1:9/h",
                                                   "secret": "s"})  # fmt: skip
        notify(conn, _paid(team, 2), T0)
    result = flush(engine, T0 + timedelta(minutes=11), email=True)
    assert result.deliveries == {"in_app": 2, "email": 3, "webhook": 1}
    assert result.held == 1
    with engine.connect() as conn:
        held = conn.execute(
            sa.select(Notification.next_attempt_at).where(Notification.status == "held")
        ).scalar_one()
    assert held == datetime(2026, 3, 2, 17, 0, tzinfo=UTC), "18:00 in Berlin (UTC+1)"


def _flush_in_process(url: str, now: datetime, start, sent) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db.engine import get_engine

    engine = get_engine(url)
    start.wait(60)  # both processes begin together, so they contend for the same windows
    result = flush(engine, now, email=False)
    sent.put(result.singles + result.digests)


@pytest.mark.postgres
def test_two_processes_flushing_at_once_send_each_digest_once(postgres_url) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db import migrate
    from bg_agents.lib.db.engine import get_engine

    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        teams = [_team(conn, f"t{i}", users=2) for i in range(40)]
        for team in teams:
            notify(conn, _paid(team, 7), T0)
            docs = [Event(f"doc:{team}:{i}", team, "document.matched", "R") for i in range(3)]
            notify(conn, docs, T0)
    now = T0 + timedelta(minutes=11)
    context = multiprocessing.get_context("spawn")
    start, sent = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_flush_in_process, args=(postgres_url, now, start, sent))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    shares = sorted(sent.get(timeout=5) for _ in workers)
    assert sum(shares) == 40, "every digest sent by exactly one of the two"
    assert min(shares) > 0, "both flushed: they did race"
    assert _count(engine, NotificationMessage, NotificationMessage.kind == "digest") == 40
    assert _count(engine, NotificationMessage, NotificationMessage.kind == "single") == 120
    assert _count(engine, Notification) == (40 + 120) * 2, "each message once per member"
    assert _count(engine, NotificationEvent, NotificationEvent.message_id.is_(None)) == 0
    with engine.connect() as conn:
        twice = conn.execute(
            sa.select(NotificationMessage.team_id, NotificationMessage.window_start,
                      NotificationMessage.part)
            .where(NotificationMessage.kind == "digest")
            .group_by(NotificationMessage.team_id, NotificationMessage.window_start,
                      NotificationMessage.part)
            .having(sa.func.count() > 1)
        ).all()  # fmt: skip
    assert twice == []


def test_events_of_a_category_removed_from_the_policy_still_go_out(engine) -> None:  # type: ignore[no-untyped-def]
    old = parse_policy({"categories": {"legacy.kind": {"window_minutes": 10}}})
    with engine.begin() as conn:
        team = _team(conn, users=1)
        notify(conn, [Event("old:1", team, "legacy.kind", "Old news")], T0, policy=old)
    result = flush(engine, T0 + timedelta(minutes=1), email=False)  # today's policy lacks it
    assert (result.singles, result.events) == (1, 1)
