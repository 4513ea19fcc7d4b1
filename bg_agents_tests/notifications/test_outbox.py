"""The notification outbox: one row per idempotency key, listed in the user's in-app inbox."""

import sqlalchemy as sa

from bg_agents.defs.notifications.outbox import Message, deliver_in_app, enqueue, inbox, mark_read
from bg_agents.lib.db.models import Notification, Team, User


def _user(conn) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    conn.execute(
        sa.insert(Team), {"slug": "a", "name": "A", "time_zone": "UTC", "base_currency": "USD"}
    )
    team = conn.execute(sa.select(Team.id)).scalar_one()
    conn.execute(sa.insert(User), {"team_id": team, "email": "a@x.test", "name": "A"})
    return team, conn.execute(sa.select(User.id)).scalar_one()


def test_same_key_twice_is_one_notification_and_the_user_can_read_it(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team, user = _user(conn)
        msg = Message("insight:a:2026-03-02:1", team, user, "insight", "Weekly insights", "Hi")
        assert enqueue(conn, [msg]) == 1
        assert enqueue(conn, [msg, msg]) == 0
        assert deliver_in_app(conn) == 1
        assert deliver_in_app(conn) == 0
        (row,) = inbox(conn, user, unread_only=True)
        assert row.title == "Weekly insights"
        assert mark_read(conn, user, [row.id]) == 1
        assert inbox(conn, user, unread_only=True) == []
        assert conn.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() == 1


def test_unknown_channel_is_refused_before_anything_is_written(engine) -> None:  # type: ignore[no-untyped-def]
    import pytest

    with engine.begin() as conn:
        team, user = _user(conn)
        with pytest.raises(ValueError, match="unknown channel"):
            enqueue(conn, [Message("k", team, user, "x", "t", "b", channel="pigeon")])
        assert conn.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() == 0
