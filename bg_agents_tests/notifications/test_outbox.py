"""The in-app inbox: an event reported twice is one notification, listed and marked read."""

import sqlalchemy as sa

from bg_agents.defs.notifications import Event, notify
from bg_agents.defs.notifications.outbox import inbox, mark_read
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
        event = Event("insight:a:2026-03-02", team, "weekly_insights", "Weekly insights", "Hi")
        assert notify(conn, [event]) == 1
        assert notify(conn, [event, event]) == 0
        (row,) = inbox(conn, user, unread_only=True)
        assert row.title == "Weekly insights" and row.body == "Hi"
        assert mark_read(conn, user, [row.id]) == 1
        assert inbox(conn, user, unread_only=True) == []
        assert conn.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() == 1


def test_unknown_category_is_refused_before_anything_is_written(engine) -> None:  # type: ignore[no-untyped-def]
    import pytest

    with engine.begin() as conn:
        team, _ = _user(conn)
        with pytest.raises(ValueError, match="unknown notification category 'pigeon'"):
            notify(conn, [Event("k", team, "pigeon", "t")])
        assert conn.execute(sa.select(sa.func.count()).select_from(Notification)).scalar() == 0
