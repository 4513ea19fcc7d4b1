"""``bg-agents notifications list|prefs``, in-process against the test's own database (SQLite and
PostgreSQL): a user's deliveries, their preferences changed and stored, and one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.cli import main
from bg_agents.defs.notifications.preferences import Preferences, categories
from bg_agents.lib.db.models import Notification, Team, User

NOW = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)  # 23:00 in Berlin (CEST)


@pytest.fixture
def cli(app_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``bg-agents`` with the clock pinned; (exit code, stdout, stderr)."""
    monkeypatch.setenv("BG_AGENTS_NOW", NOW.isoformat())

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run


@pytest.fixture
def people(engine: Engine) -> dict[str, int]:
    """Ann in two teams (Berlin, New York), Bob in one with legacy preferences."""
    with engine.begin() as conn:
        ids = {}
        for slug, tz in (("acme", "Europe/Berlin"), ("globex", "America/New_York")):
            ids[slug] = conn.execute(
                sa.insert(Team)
                .values(slug=slug, name=slug.title(), time_zone=tz, base_currency="EUR")
                .returning(Team.id)
            ).scalar_one()
        legacy = {"in_app": True, "email": False, "weekly_insights": True, "muted": []}
        for key, team, email, prefs in (
            ("ann@acme", "acme", "ann@example.test", {}),
            ("ann@globex", "globex", "Ann@Example.test", {}),
            ("bob", "acme", "bob@example.test", legacy),
        ):
            ids[key] = conn.execute(
                sa.insert(User)
                .values(team_id=ids[team], email=email, name=key, notification_prefs=prefs)
                .returning(User.id)
            ).scalar_one()
        base = NOW - timedelta(hours=3)
        rows = [
            ("bob", "in_app", "invoice.paid", "delivered", 1, "2 invoices paid", None, None),
            ("bob", "email", "invoice.overdue", "failed", 2, "Invoice INV-7 overdue",
             "SMTP 451 try again later", NOW + timedelta(minutes=4)),
            ("bob", "email", "invoice.paid", "suppressed", 0, "2 invoices paid", None, None),
            ("ann@acme", "email", "weekly_insights", "dead", 5, "Weekly insights",
             "connection refused", None),
        ]  # fmt: skip
        for i, (who, channel, category, status, attempts, title, error, nxt) in enumerate(rows):
            conn.execute(
                sa.insert(Notification).values(
                    idempotency_key=f"k{i}",
                    team_id=ids["acme"],
                    user_id=ids[who],
                    channel=channel,
                    category=category,
                    title=title,
                    body="",
                    status=status,
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=nxt,
                    created_at=base + timedelta(minutes=i),
                )
            )
    return ids


def stored(engine: Engine, user_id: int) -> Preferences:
    with engine.connect() as conn:
        data = conn.execute(
            sa.select(User.notification_prefs).where(User.id == user_id)
        ).scalar_one()
    return Preferences.of(data)


def test_list_shows_a_users_deliveries_newest_first_with_errors(cli, people) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("notifications", "list", "--user", "bob@example.test")
    assert code == 0
    assert "bob@example.test (acme): 3 deliveries, newest first" in out
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if "suppressed" in line)
    assert first < next(i for i, line in enumerate(lines) if "failed" in line)
    assert "SMTP 451 try again later" in out and "next attempt 2026-10-24 21:04 UTC" in out
    assert "Weekly insights" not in out  # Ann's

    code, out, _ = cli(
        "notifications", "list", "--user", "bob@example.test", "--status", "failed", "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["team"] == "acme"
    (only,) = data["deliveries"]
    assert only["status"] == "failed" and only["attempts"] == 2
    assert only["last_error"] == "SMTP 451 try again later"
    assert only["category"] == "invoice.overdue" and only["channel"] == "email"

    code, out, _ = cli("notifications", "list", "--user", "bob@example.test", "--limit", "1")
    assert "1 deliveries" in out and "suppressed" in out and "failed" not in out
    code, out, _ = cli("notifications", "list", "--user", "bob@example.test", "--status", "held")
    assert code == 0 and "no held deliveries" in out


def test_an_email_in_two_teams_needs_team(cli, people) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("notifications", "list", "--user", "ann@example.test")
    assert code == 2 and out == ""
    assert err.strip() == (
        "bg-agents: error: ann@example.test is a member of 2 teams (acme, globex): "
        "choose one with --team SLUG"
    )
    code, out, _ = cli("notifications", "list", "--user", "ann@example.test", "--team", "acme")
    assert code == 0 and "dead" in out and "connection refused" in out
    code, out, _ = cli("notifications", "list", "--user", "ann@example.test", "--team", "globex")
    assert code == 0 and "no deliveries" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("list", "--user", "nobody@example.test"), "no user with e-mail 'nobody@example.test'"),
        (("list", "--user", "bob@example.test", "--team", "globex"), "in team 'globex'"),
        (("prefs", "--user", "bob@example.test", "--off", "invoices:email"), "unknown category"),
        (("prefs", "--user", "bob@example.test", "--off", "invoice.paid:sms"), "unknown channel"),
        (("prefs", "--user", "bob@example.test", "--off", "invoice.paid"), "CATEGORY:CHANNEL"),
        (("prefs", "--user", "bob@example.test", "--quiet", "22:00"), "HH:MM-HH:MM"),
        (("prefs", "--user", "bob@example.test", "--quiet", "22:00-25:00"), "'25:00'"),
        (
            ("prefs", "--user", "bob@example.test", "--off", "*:email", "--on", "*:email"),
            "*:email is both turned off and on",
        ),
    ],
)
def test_mistakes_are_one_line_and_change_nothing(cli, people, engine, args, message) -> None:  # type: ignore[no-untyped-def]
    before = stored(engine, people["bob"]).as_json()
    code, out, err = cli("notifications", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert stored(engine, people["bob"]).as_json() == before


def test_prefs_show_every_category_and_channel(cli, people) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("notifications", "prefs", "--user", "bob@example.test")
    assert code == 0
    assert "bob@example.test (acme), time zone Europe/Berlin: current preferences" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert rows["category"] == ["in_app", "email", "webhook"]
    for category in categories():
        assert rows[category] == ["on", "off", "on"]  # legacy "email": false
    assert "quiet hours: none" in out


def test_prefs_changes_are_stored_and_shown(cli, people, engine) -> None:  # type: ignore[no-untyped-def]
    ann = ("notifications", "prefs", "--user", "ann@example.test", "--team", "acme")
    changes = (
        "--off",
        "*:email",
        "--on",
        "invoice.overdue:email",
        "--off",
        "transactions.synced:*",
    )
    code, out, _ = cli(*ann, *changes, "--quiet", "22:00-07:00", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["time_zone"] == "Europe/Berlin"  # Ann has none: the team's
    assert data["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    # 23:00 in Berlin on the fall-back night: quiet until 07:00 CET = 06:00 UTC.
    assert data["quiet_until"] == "2026-10-25T06:00:00+00:00"
    email = {c: row["email"] for c, row in data["categories"].items()}
    assert email == {c: c == "invoice.overdue" for c in categories()}
    assert data["categories"]["transactions.synced"] == {
        "in_app": False, "email": False, "webhook": False
    }  # fmt: skip
    assert data["categories"]["invoice.paid"]["in_app"] is True

    prefs = stored(engine, people["ann@acme"])
    assert not prefs.allows("invoice.paid", "email") and prefs.allows("invoice.overdue", "email")
    assert prefs.quiet_until(NOW, "Europe/Berlin") == datetime(2026, 10, 25, 6, tzinfo=UTC)
    assert stored(engine, people["ann@globex"]).as_json() == {}  # the other team's Ann

    code, out, _ = cli(*ann, "--no-quiet", "--on", "*:*")
    assert code == 0 and "saved preferences" in out and "quiet hours: none" in out
    assert stored(engine, people["ann@acme"]).as_json() == {}


def test_quiet_now_is_shown_in_the_users_own_zone(cli, people, engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(sa.update(User).where(User.id == people["bob"]).values(time_zone="Asia/Tokyo"))
    code, out, _ = cli(
        "notifications", "prefs", "--user", "bob@example.test", "--quiet", "05:00-07:00"
    )
    # 21:00 UTC is 06:00 in Tokyo: quiet until 07:00 local = 22:00 UTC.
    assert code == 0 and "quiet hours: 05:00-07:00 Asia/Tokyo" in out
    assert "quiet now, until 2026-10-24 22:00 UTC" in out


def test_unsubscribed_user_is_told_and_can_subscribe_again(cli, people, engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            sa.update(User)
            .where(User.id == people["ann@globex"])
            .values(notification_prefs={"unsubscribed": True, "quiet_hours": "junk"})
        )
    globex = ("notifications", "prefs", "--user", "ann@example.test", "--team", "globex")
    code, out, _ = cli(*globex)
    assert code == 0 and "unsubscribed from everything" in out
    assert "ignored in the stored preferences: quiet_hours ignored" in out
    code, out, _ = cli(*globex, "--on", "invoice.paid:email")
    assert "e-mail stays off while unsubscribed" in out
    assert not stored(engine, people["ann@globex"]).allows("invoice.paid", "email")
    code, out, _ = cli(*globex, "--subscribe", "--json")
    data = json.loads(out)
    assert code == 0 and data["unsubscribed"] is False and data["problems"] == []
    assert all(row["email"] for row in data["categories"].values())
    assert stored(engine, people["ann@globex"]).as_json() == {}


def paid_an_hour_ago(engine: Engine, slug: str, invoices: int) -> None:
    """A team with one member, told an hour ago that ``invoices`` invoices were paid."""
    from bg_agents.defs.notifications import Event, notify

    with engine.begin() as conn:
        team = conn.execute(
            sa.insert(Team).returning(Team.id),
            {"slug": slug, "name": slug, "time_zone": "UTC", "base_currency": "EUR"},
        ).scalar_one()
        conn.execute(sa.insert(User), {"team_id": team, "email": f"{slug}@x.test", "name": slug})
        events = [Event(f"{slug}{i}", team, "invoice.paid", f"Invoice {i} paid")
                  for i in range(invoices)]  # fmt: skip
        notify(conn, events, datetime.now(UTC) - timedelta(hours=1))


def test_flush_closes_due_windows_and_prints_what_it_did(engine, app_env, capsys) -> None:  # type: ignore[no-untyped-def]
    paid_an_hour_ago(engine, "flush", 3)
    assert main(["notifications", "flush", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert (counts["digests"], counts["events_sent"], counts["deliveries_in_app"]) == (1, 3, 1)
    assert main(["notifications", "flush"]) == 0
    assert capsys.readouterr().out.startswith("0 digests and 0 single messages from 0 events")


def test_flush_says_why_deliveries_failed(engine, app_env, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A mail server that is down: the pass names the reason, not only "1 to retry"."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("BG_AGENTS_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("BG_AGENTS_SMTP_FROM", "Finance <billing@example.com>")
    paid_an_hour_ago(engine, "down", 1)
    assert main(["notifications", "flush"]) == 0
    first, *reasons = capsys.readouterr().out.splitlines()
    assert "1 to retry" in first
    assert len(reasons) == 1 and reasons[0].startswith("  1 x email: ")
