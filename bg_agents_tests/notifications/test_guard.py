"""A category's guard: events it names are withdrawn before their message is built (never sent,
never waiting again), a group withdrawn whole sends nothing, a bad guard in the policy is refused
with the category named."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bg_agents.defs.notifications.due import due
from bg_agents.defs.notifications.events import Event, notify
from bg_agents.defs.notifications.flush import GRACE, flush
from bg_agents.defs.notifications.policy import POLICY_FILE, parse_policy
from bg_agents.lib.db.models import Notification, NotificationEvent, NotificationMessage
from bg_agents_tests.notifications.test_engine import _team

T0 = datetime(2026, 3, 2, 10, 1, tzinfo=UTC)
GUARD = "bg_agents_tests.notifications.test_guard:no_stale"


def no_stale(conn, events):  # type: ignore[no-untyped-def]
    """A guard for these tests: events whose payload says stale are no longer true."""
    return {e.idempotency_key: "stale now" for e in events if e.payload.get("stale")}


def _policy(window: int = 10):  # type: ignore[no-untyped-def]
    return parse_policy(
        {"categories": {"invoice.paid": {"window_minutes": window, "guard": GUARD}}}
    )


def _events(team: int, stale: list[bool]) -> list[Event]:
    return [
        Event(f"e{i}", team, "invoice.paid", f"Invoice {i}", payload={"stale": s})
        for i, s in enumerate(stale)
    ]


def test_guarded_events_are_withdrawn_from_the_digest(engine) -> None:  # type: ignore[no-untyped-def]
    policy = _policy()
    with engine.begin() as conn:
        team = _team(conn, users=1)
        notify(conn, _events(team, [False, True, False]), T0, policy=policy)
    sent = flush(engine, T0 + timedelta(minutes=9) + GRACE, email=False, policy=policy)
    assert (sent.digests, sent.events) == (1, 2)
    with engine.connect() as conn:
        message = conn.execute(sa.select(NotificationMessage)).one()
        withdrawn = conn.execute(
            sa.select(NotificationEvent.idempotency_key, NotificationEvent.withdrawn_reason).where(
                NotificationEvent.withdrawn_at.is_not(None)
            )
        ).all()
    assert message.item_count == 2 and "Invoice 1" not in message.body
    assert withdrawn == [("e1", "stale now")]
    later = T0 + timedelta(hours=1)
    assert due(engine, later, policy=policy).window is None, "withdrawn is not waiting"
    assert flush(engine, later, email=False, policy=policy).events == 0


def test_a_group_withdrawn_whole_sends_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    policy = _policy()
    with engine.begin() as conn:
        team = _team(conn)
        notify(conn, _events(team, [True, True]), T0, policy=policy)
    sent = flush(engine, T0 + timedelta(minutes=20), email=False, policy=policy)
    assert (sent.digests, sent.singles) == (0, 0)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(NotificationMessage)) == 0
        assert conn.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_an_unbatched_category_is_guarded_when_sent_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(window=0)
    with engine.begin() as conn:
        team = _team(conn, users=1)
        notify(conn, _events(team, [True, False]), T0, policy=policy)
    with engine.connect() as conn:
        titles = conn.scalars(sa.select(NotificationMessage.title)).all()
        reason = conn.scalar(
            sa.select(NotificationEvent.withdrawn_reason).where(
                NotificationEvent.idempotency_key == "e0"
            )
        )
    assert titles == ["Invoice 1"] and reason == "stale now"


@pytest.mark.parametrize(
    "guard",
    ["no_colon", "a.b:", ":f", "a b:f", "mod:f:g", 3],
)
def test_a_guard_that_is_not_module_colon_function_is_refused(guard) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="policy category 'x': guard must be \"module:function\""):
        parse_policy({"categories": {"x": {"window_minutes": 0, "guard": guard}}})


def test_a_guard_that_cannot_be_imported_names_its_category() -> None:
    policy = parse_policy(
        {"categories": {"x": {"window_minutes": 0, "guard": "bg_agents.nowhere:still_owed"}}}
    )
    with pytest.raises(ValueError, match="policy category 'x': guard .* cannot be imported"):
        policy.of("x").guard_function()


def test_the_shipped_policy_guards_reminders_with_a_function_that_exists() -> None:
    with POLICY_FILE.open("rb") as handle:
        policy = parse_policy(tomllib.load(handle))
    overdue = policy.of("invoice.overdue")
    assert overdue.guard == "bg_agents.defs.reminders.guard:still_owed"
    assert callable(overdue.guard_function())
    assert (overdue.noun("de_DE", 1), overdue.noun("fr_FR", 2)) == (
        "offene Rechnung",
        "factures impayées",
    )
    for rules in policy.categories.values():
        rules.guard_function()  # every guard named imports
