"""Deliveries leave through real servers: e-mail to an SMTP server the test starts, webhooks to a
receiver that verifies the signature. Retries, dead letters, unsubscribes and racing deliverers."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from bg_agents.defs.notifications.channels.email import SmtpConfig
from bg_agents.defs.notifications.deliver import deliver
from bg_agents.defs.notifications.endpoints import delivery_health
from bg_agents.defs.notifications.events import Event, notify
from bg_agents.defs.notifications.flush import flush
from bg_agents.defs.notifications.unsubscribe import unsubscribe
from bg_agents.lib.db.models import Notification, Team, User, WebhookEndpoint
from bg_agents_tests.notifications.test_email_channel import Recorder, smtp_server
from bg_agents_tests.notifications.test_webhook_channel import SECRET, Answer, Receiver

FAST = httpx.Timeout(connect=1.0, read=1.0, write=1.0, pool=1.0)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _team(conn, users: int = 2) -> int:  # type: ignore[no-untyped-def]
    team = conn.execute(
        sa.insert(Team).returning(Team.id),
        {"slug": "acme", "name": "Acme GmbH", "time_zone": "UTC", "base_currency": "EUR",
         "locale": "de_DE"},
    ).scalar_one()  # fmt: skip
    for i in range(users):
        conn.execute(
            sa.insert(User), {"team_id": team, "email": f"u{i}@acme.test", "name": f"Ü{i}"}
        )
    return team


def _statuses(engine, channel: str) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                sa.select(Notification.status).where(Notification.channel == channel)
            ).scalars()
        )


def _paid(team: int, n: int) -> list[Event]:
    return [Event(f"paid:{i}", team, "invoice.paid", f"Rechnung RE-{i} bezahlt") for i in range(n)]


@pytest.fixture
def smtp(monkeypatch):  # type: ignore[no-untyped-def]
    """A real SMTP server, configured as the project's (so e-mail deliveries are created)."""
    recorder = Recorder(rcpt={"u9@acme.test": "550 5.1.1 no such mailbox"})
    with smtp_server(recorder) as port:
        monkeypatch.setenv("BG_AGENTS_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("BG_AGENTS_SMTP_FROM", "Bot <bot@bg.test>")
        yield (
            recorder,
            SmtpConfig(host="127.0.0.1", port=port, security="plain", sender="Bot <bot@bg.test>"),
        )


def test_a_digest_reaches_each_member_by_email_once(engine, app_env, smtp) -> None:  # type: ignore[no-untyped-def]
    recorder, config = smtp
    now = _now()
    with engine.begin() as conn:
        team = _team(conn)
        notify(conn, _paid(team, 3), now - timedelta(minutes=30))
    assert flush(engine, now, email=True).deliveries["email"] == 2
    result = deliver(engine, now, smtp=config)
    assert result.delivered["email"] == 2
    assert deliver(engine, now + timedelta(hours=1), smtp=config).delivered["email"] == 0
    assert len(recorder.received) == 2, "each member once, and never again"
    message = email.message_from_bytes(recorder.received[0]["raw"], policy=email.policy.default)
    assert message["Subject"] == "3 Rechnungen bezahlt"
    assert message["To"] in ("u0@acme.test", "u1@acme.test")
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8025/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    assert "3 Rechnungen bezahlt:" in text and "- Rechnung RE-2 bezahlt" in text
    assert message.get_body(("html",)) is not None
    assert _statuses(engine, "email") == ["delivered", "delivered"]


def test_one_pass_sends_at_most_its_limit(engine, app_env, smtp) -> None:  # type: ignore[no-untyped-def]
    """``limit`` bounds a pass (the rest is left for the next pass or another deliverer): on
    PostgreSQL the locking LIMIT as a subquery of the UPDATE once claimed every due row."""
    recorder, config = smtp
    now = _now()
    with engine.begin() as conn:
        team = _team(conn, users=5)
        notify(conn, _paid(team, 3), now - timedelta(minutes=30))
    assert flush(engine, now, email=True).deliveries["email"] == 5
    assert deliver(engine, now, smtp=config, limit=2).delivered["email"] == 2
    assert _statuses(engine, "email") == ["delivered"] * 2 + ["pending"] * 3
    assert deliver(engine, now, smtp=config, limit=2).delivered["email"] == 2


def test_an_unsubscribed_member_gets_nothing_more(engine, app_env, smtp) -> None:  # type: ignore[no-untyped-def]
    recorder, config = smtp
    now = _now()
    with engine.begin() as conn:
        team = _team(conn)
        notify(conn, _paid(team, 2), now - timedelta(minutes=30))
    flush(engine, now, email=True)
    with engine.begin() as conn:
        leaver = conn.scalar(sa.select(User.id).where(User.email == "u1@acme.test"))
        unsubscribe(conn, leaver)  # between the digest and its sending: honoured at once
    result = deliver(engine, now, smtp=config)
    assert (result.delivered["email"], result.suppressed) == (1, 1)
    with engine.begin() as conn:
        notify(conn, [Event("later", team, "invoice.overdue", "Überfällig")], now)
    flush(engine, now + timedelta(hours=1), email=True)
    deliver(engine, now + timedelta(hours=1), smtp=config)
    assert sorted(r["to"][0] for r in recorder.received) == ["u0@acme.test", "u0@acme.test"]


def test_an_unknown_mailbox_is_a_dead_letter_at_once(engine, app_env, smtp) -> None:  # type: ignore[no-untyped-def]
    recorder, config = smtp
    now = _now()
    with engine.begin() as conn:
        team = _team(conn, users=0)
        conn.execute(sa.insert(User), {"team_id": team, "email": "u9@acme.test", "name": "Gone"})
        notify(conn, [Event("doc", team, "document.matched", "Beleg")], now)
    flush(engine, now, email=True)
    result = deliver(engine, now, smtp=config)
    assert (result.dead, result.retried) == (1, 0)
    with engine.connect() as conn:
        error = conn.scalar(sa.select(Notification.last_error).where(Notification.status == "dead"))
    assert "550" in error


def test_quiet_hours_hold_an_email_until_they_end(engine, app_env, smtp) -> None:  # type: ignore[no-untyped-def]
    recorder, config = smtp
    now = _now()
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=2)).strftime("%H:%M")
    with engine.begin() as conn:
        team = _team(conn, users=1)
        conn.execute(
            sa.update(User).values(notification_prefs={"quiet_hours": {"start": start,
                                                                      "end": end}})
        )  # fmt: skip
        notify(conn, [Event("doc", team, "document.matched", "Beleg")], now)
    flush(engine, now, email=True)
    assert _statuses(engine, "email") == ["held"], "an immediate e-mail waits for quiet hours"
    assert deliver(engine, now, smtp=config).delivered["email"] == 0
    assert deliver(engine, now + timedelta(hours=2, minutes=1), smtp=config).delivered["email"] == 1
    assert len(recorder.received) == 1


def _endpoint(conn, team: int, url: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(sa.insert(WebhookEndpoint), {"team_id": team, "url": url, "secret": SECRET})


def test_a_receiver_answering_500_then_200_gets_exactly_one_delivery(engine, app_env) -> None:  # type: ignore[no-untyped-def]
    now = _now()
    with Receiver() as receiver, engine.begin() as conn:
        team = _team(conn, users=0)
        _endpoint(conn, team, receiver.script("/hook", Answer(500), Answer(200)))
        notify(conn, [Event("doc", team, "document.matched", "Beleg")], now)
        conn.commit()
        flush(engine, now, email=False)
        first = deliver(engine, now, webhook_timeout=FAST)
        assert (first.retried, first.delivered["webhook"]) == (1, 0)
        assert deliver(engine, now + timedelta(seconds=5), webhook_timeout=FAST).retried == 0
        later = deliver(engine, now + timedelta(minutes=5), webhook_timeout=FAST)
        assert later.delivered["webhook"] == 1
        deliver(engine, now + timedelta(hours=5), webhook_timeout=FAST)
        calls = receiver.at("/hook")
    assert [c.verified for c in calls] == [True, True], "each attempt signed"
    assert len({c.headers["X-BG-Delivery"] for c in calls}) == 1, "one delivery, tried twice"
    assert _statuses(engine, "webhook") == ["delivered"]


def test_an_endpoint_that_never_answers_is_dead_lettered_while_others_flow(
    engine, app_env, silent
) -> None:  # type: ignore[no-untyped-def]
    now = _now()
    with Receiver() as receiver:
        with engine.begin() as conn:
            team = _team(conn, users=0)
            _endpoint(conn, team, silent)
            _endpoint(conn, team, receiver.url("/ok"))
        for round_ in range(3):
            at = now + timedelta(hours=round_)
            with engine.begin() as conn:
                notify(conn, [Event(f"doc{round_}", team, "document.matched", "B")], at)
            flush(engine, at, email=False)
            result = deliver(engine, at, max_attempts=3, webhook_timeout=FAST)
            assert result.delivered["webhook"] == 1, "the good endpoint gets each at once"
        got = len(receiver.at("/ok"))
    assert got == 3
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Notification.status, Notification.attempts)
            .join(WebhookEndpoint, WebhookEndpoint.id == Notification.endpoint_id)
            .where(WebhookEndpoint.url == silent)
        ).all()
    assert ("dead", 3) in rows, rows
    with engine.connect() as conn:
        ids = conn.scalars(sa.select(WebhookEndpoint.id).order_by(WebhookEndpoint.id)).all()
        health = delivery_health(conn, ids)
    silent_health, good_health = health[ids[0]], health[ids[1]]
    assert silent_health["statuses"].get("dead") == 1 and "timed out" in silent_health["last_error"]
    assert good_health == {"statuses": {"delivered": 3}, "last_error": None}


@pytest.mark.postgres
def test_two_deliverers_at_once_send_each_delivery_once(
    postgres_url, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db import migrate
    from bg_agents.lib.db.engine import get_engine

    monkeypatch.setenv("BG_AGENTS_DATABASE_URL", postgres_url)
    monkeypatch.setenv("BG_AGENTS_HOME", str(tmp_path))
    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    now = _now()
    with Receiver() as receiver:
        with engine.begin() as conn:
            team = _team(conn, users=0)
            _endpoint(conn, team, receiver.url("/race"))
            notify(conn, [Event(f"d{i}", team, "document.matched", "B") for i in range(60)], now)
        flush(engine, now, email=False)
        workers = [
            threading.Thread(target=deliver, args=(engine, now), kwargs={"limit": 7})
            for _ in range(4)
        ]
        for _ in range(3):
            for w in workers:
                w.start()
            for w in workers:
                w.join(60)
            workers = [
                threading.Thread(target=deliver, args=(engine, now), kwargs={"limit": 7})
                for _ in range(4)
            ]
        keys = [c.headers["X-BG-Delivery"] for c in receiver.at("/race")]
        # On a loaded machine a POST may time out and wait for its retry: none may be lost.
        retried = deliver(engine, now + timedelta(hours=3)).delivered["webhook"]
        keys += [c.headers["X-BG-Delivery"] for c in receiver.at("/race")[len(keys) :]]
    assert len(keys) == len(set(keys)), "no delivery sent twice by racing deliverers"
    assert len(set(keys)) == 60, f"{60 - len(set(keys))} lost ({retried} delivered on retry)"


def test_a_receiver_down_for_a_night_loses_nothing() -> None:
    """The waits between the attempts a delivery gets add up to 12-24 h (jitter included)
    before it is dead: an outage of hours is retried through, a dead endpoint still stops."""
    from bg_agents.defs.notifications.deliver import MAX_ATTEMPTS, backoff

    for key in ("webhook:7:digest-1", "email:3:insight-2026-11-23", "x"):
        waited = sum((backoff(key, n) for n in range(1, MAX_ATTEMPTS)), timedelta())
        assert timedelta(hours=12) <= waited <= timedelta(hours=25), (key, waited)


def test_a_delivery_under_a_pinned_clock_is_signed_at_the_real_time(engine, app_env) -> None:  # type: ignore[no-untyped-def]
    # A demo pinned to a Monday months ago (BG_AGENTS_NOW) still reaches a receiver that checks
    # the signature's timestamp against its own clock, within five minutes.
    pinned = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with Receiver() as receiver, engine.begin() as conn:
        team = _team(conn, users=0)
        _endpoint(conn, team, receiver.url("/hook"))
        notify(conn, [Event("doc", team, "document.matched", "Beleg")], pinned)
        conn.commit()
        flush(engine, pinned, email=False)
        assert deliver(engine, pinned, webhook_timeout=FAST).delivered["webhook"] == 1
        (call,) = receiver.at("/hook")
    assert call.verified
    assert abs(int(call.headers["X-BG-Timestamp"]) - datetime.now(UTC).timestamp()) < 60


def test_dead_emails_are_sent_again_once_with_their_message_ids(
    engine, app_env, smtp, capsys
) -> None:  # type: ignore[no-untyped-def]
    """An SMTP server down longer than the retries lost those e-mails for good; `bg-agents
    notifications resend` queues them again, once."""
    import json
    import socket

    from bg_agents.cli import main

    recorder, config = smtp
    with socket.socket() as probe:  # a port nobody listens on: the server is down
        probe.bind(("127.0.0.1", 0))
        down = SmtpConfig(host="127.0.0.1", port=probe.getsockname()[1], security="plain",
                          sender="Bot <bot@bg.test>", timeout=1.0)  # fmt: skip
    now = _now()
    with engine.begin() as conn:
        team = _team(conn, users=2)
        notify(conn, _paid(team, 1), now - timedelta(minutes=30))
    flush(engine, now, email=True)
    for hours in (0, 1):  # two attempts, then given up
        deliver(engine, now + timedelta(hours=hours), smtp=down, max_attempts=2)
    assert _statuses(engine, "email") == ["dead", "dead"]

    assert main(["notifications", "resend", "--user", "u0@acme.test"]) == 0
    assert "1 dead e-mail deliveries queued again" in capsys.readouterr().out
    assert main(["notifications", "resend", "--user", "u0@acme.test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["queued"] == 0  # once; again is nothing more
    assert _statuses(engine, "email") == ["dead", "pending"]  # the other member's stays
    assert deliver(engine, now + timedelta(hours=2), smtp=config).delivered["email"] == 1
    (sent,) = recorder.received
    assert sent["to"] == ["u0@acme.test"]
    assert main(["notifications", "resend", "--user", "u1@acme.test", "--since",
                 (now + timedelta(days=1)).date().isoformat()]) == 0  # fmt: skip
    assert "no dead e-mail deliveries created since" in capsys.readouterr().out
