"""``bg-agents webhooks add|list|remove``, in-process against the test's own database (SQLite and
PostgreSQL): the secret shown once, lists that never show it, soft removal, one-line errors."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.cli import main
from bg_agents.lib.db.models import Notification, Team, WebhookEndpoint

URL = "https://hooks.example.com/bg/acme"


@pytest.fixture
def team(engine: Engine) -> int:
    with engine.begin() as conn:
        for slug in ("acme", "globex"):
            conn.execute(
                sa.insert(Team),
                {"slug": slug, "name": slug.title(), "time_zone": "UTC", "base_currency": "EUR"},
            )
        return conn.execute(sa.select(Team.id).where(Team.slug == "acme")).scalar_one()


@pytest.fixture
def cli(app_env: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``bg-agents``; (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run


def stored(engine: Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def test_add_shows_the_secret_once_and_list_never_shows_it(cli, team, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("webhooks", "add", "--team", "acme", URL)
    assert code == 0
    (row,) = stored(engine)
    assert f"webhook endpoint {row.id} added for {URL}" in out
    assert f"signing secret: {row.secret}" in out and "not shown again" in out
    assert row.secret.startswith("whsec_") and len(row.secret) >= 40
    assert row.team_id == team and row.active and not row.slack

    code, out, _ = cli("webhooks", "list", "--team", "acme")
    assert code == 0 and URL in out and row.secret not in out
    assert out.splitlines()[1].split() == [str(row.id), "yes", "no", "0", "0", "0", URL]
    code, out, _ = cli("webhooks", "list", "--team", "acme", "--json")
    (listed,) = json.loads(out)
    assert set(listed) == {"id", "url", "slack", "active", "created_at", "deliveries"}
    assert listed["url"] == URL and listed["active"] is True
    code, out, _ = cli("webhooks", "list", "--team", "globex")
    assert code == 0 and "no webhook endpoints" in out  # endpoints are per team


def test_a_given_secret_a_slack_endpoint_and_json_output(cli, team, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    slack_url = "https://hooks.slack.com/services/T000/B000/abc"
    code, out, _ = cli(
        "webhooks", "add", "--team", "acme", slack_url, "--slack",
        "--secret", "my-own-secret-0123456789", "--json",
    )  # fmt: skip
    assert code == 0
    added = json.loads(out)
    assert added["secret"] == "my-own-secret-0123456789" and added["slack"] is True
    (row,) = stored(engine)
    assert row.secret == "my-own-secret-0123456789" and row.slack and added["id"] == row.id


def test_a_secret_read_from_stdin(cli, team, engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-secret-0123456789\n"))
    code, out, _ = cli("webhooks", "add", "--team", "acme", URL, "--secret", "-")
    assert code == 0 and "piped-secret-0123456789" in out
    assert stored(engine)[0].secret == "piped-secret-0123456789"


def test_the_same_url_twice_is_refused_on_one_line(cli, team, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    assert cli("webhooks", "add", "--team", "acme", URL)[0] == 0
    code, out, err = cli("webhooks", "add", "--team", "acme", URL)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"bg-agents: error: this team already has a webhook for that URL (endpoint "
        f"{stored(engine)[0].id})"
    ]
    assert cli("webhooks", "add", "--team", "globex", URL)[0] == 0  # another team may
    assert len(stored(engine)) == 2


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/hook", "must be http:// or https://"),
        ("example.com/hook", "must be http:// or https://"),
        ("https://user:hunter2-password@example.com/hook", "must not carry credentials"),
        ("https:///hook", "has no host"),
        ("https://example.com/a b", "spaces or control characters"),
        ("https://example.com:99999/hook", "not a valid webhook URL"),
        ("https://example.com/" + "a" * 2100, "at most 2,048"),
        # Payments in the clear, or the server made to call inside its own network.
        ("http://hooks.example.com/bg", "must be https://"),
        ("https://169.254.169.254/latest/meta-data", "private, link-local or reserved"),
        ("https://10.0.0.5/hook", "private, link-local or reserved"),
        ("https://[fd00::1]/hook", "private, link-local or reserved"),
        ("https://0.0.0.0/hook", "private, link-local or reserved"),
        ("https://2852039166/latest", "private, link-local or reserved"),  # 169.254.169.254
        ("https://0x0a000005/hook", "private, link-local or reserved"),  # 10.0.0.5
    ],
)
def test_a_bad_url_is_one_line_and_exit_2(cli, team, engine: Engine, url: str, says: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("webhooks", "add", "--team", "acme", url)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert says in line and "hunter2" not in line and len(line) < 200
    assert stored(engine) == []


def test_an_unknown_team_and_a_bad_secret_are_one_line_and_exit_2(cli, team) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("add", "--team", "nope", URL),
        ("list", "--team", "nope"),
        ("remove", "--team", "nope", "1"),
    ):
        code, _, err = cli("webhooks", *args)
        assert code == 2
        assert err.strip().splitlines() == [
            "bg-agents: error: unknown team 'nope'; `bg-agents teams` lists them"
        ]
    code, _, err = cli("webhooks", "add", "--team", "acme", URL, "--secret", "short")
    assert code == 2 and "16-128 characters" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("webhooks", "add", "--team", "acme", URL, "--secret", "with space 0123456")
    assert code == 2 and "without spaces" in err


def _delivery(conn, team: int, endpoint: int, key: str, status: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        sa.insert(Notification),
        {
            "idempotency_key": key,
            "team_id": team,
            "endpoint_id": endpoint,
            "channel": "webhook",
            "category": "invoice_paid",
            "title": "t",
            "body": "b",
            "status": status,
        },
    )


def test_remove_by_id_or_url_keeps_the_row_and_sends_nothing_more(
    cli, team, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    other = "https://hooks.example.com/bg/other"
    assert cli("webhooks", "add", "--team", "acme", URL)[0] == 0
    assert cli("webhooks", "add", "--team", "acme", other)[0] == 0
    first, second = (r.id for r in stored(engine))
    with engine.begin() as conn:
        for status in ("pending", "held", "failed", "delivered", "dead"):
            _delivery(conn, team, first, f"d-{status}", status)
        _delivery(conn, team, second, "other-pending", "pending")

    code, out, _ = cli("webhooks", "remove", "--team", "acme", str(first))
    assert code == 0 and f"webhook endpoint {first} removed" in out
    code, out, _ = cli("webhooks", "remove", "--team", "acme", other, "--json")
    assert code == 0 and json.loads(out) | {"created_at": None} == {
        "id": second, "url": other, "slack": False, "active": False, "changed": True,
        "created_at": None,
    }  # fmt: skip
    assert [r.active for r in stored(engine)] == [False, False]  # kept, inactive

    with engine.connect() as conn:
        rows = conn.execute(sa.select(Notification.idempotency_key, Notification.status))
        statuses = {key: status for key, status in rows}
    assert statuses == {
        "d-pending": "suppressed",
        "d-held": "suppressed",
        "d-failed": "suppressed",
        "d-delivered": "delivered",  # the history stays as it was
        "d-dead": "dead",
        "other-pending": "suppressed",
    }
    code, out, _ = cli("webhooks", "list", "--team", "acme")
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["no", "no"]

    code, out, _ = cli("webhooks", "remove", "--team", "acme", URL)
    assert code == 0 and "was already removed" in out


def test_removing_what_is_not_there_is_one_line(cli, team, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    assert cli("webhooks", "add", "--team", "globex", URL)[0] == 0
    (theirs,) = stored(engine)
    for ref, says in (
        (str(theirs.id), f"no webhook endpoint {theirs.id};"),  # another team's id
        ("https://hooks.example.com/secret-path-xyz", "no webhook endpoint with that URL"),
        ("99999999999999999999999", "no webhook endpoint with that URL"),
    ):
        code, _, err = cli("webhooks", "remove", "--team", "acme", ref)
        assert code == 2 and says in err and "secret-path-xyz" not in err
        assert len(err.strip().splitlines()) == 1
    assert stored(engine)[0].active


def test_adding_a_removed_url_again_brings_it_back_with_a_new_secret(
    cli, team, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    assert cli("webhooks", "add", "--team", "acme", URL)[0] == 0
    (before,) = stored(engine)
    assert cli("webhooks", "remove", "--team", "acme", URL)[0] == 0
    code, out, _ = cli("webhooks", "add", "--team", "acme", URL, "--slack")
    (after,) = stored(engine)
    assert code == 0 and after.id == before.id and after.active and after.slack
    assert after.secret != before.secret and f"signing secret: {after.secret}" in out


def test_resend_sends_dead_deliveries_again_once_with_their_keys(cli, team, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from bg_agents.defs.notifications.deliver import deliver
    from bg_agents.defs.notifications.events import Event, notify
    from bg_agents.defs.notifications.flush import flush
    from bg_agents_tests.notifications.test_webhook_channel import SECRET, Answer, Receiver

    now = datetime.now(UTC).replace(microsecond=0)
    with Receiver() as receiver:
        url = receiver.script("/hook", Answer(503), Answer(503), Answer(200))  # down, then back
        with engine.begin() as conn:
            conn.execute(sa.insert(WebhookEndpoint), {"team_id": team, "url": url,
                                                      "secret": SECRET})  # fmt: skip
            notify(conn, [Event("doc-1", team, "document.matched", "Beleg 1")], now)
        flush(engine, now, email=False)
        for hours in (0, 1):  # two attempts, then the delivery is given up
            deliver(engine, now + timedelta(hours=hours), max_attempts=2)
        assert [r.status for r in deliveries(engine)] == ["dead"]
        (endpoint_id,) = [row.id for row in stored(engine)]

        code, out, _ = cli("webhooks", "resend", "--team", "acme", str(endpoint_id))
        assert code == 0 and "1 dead deliveries" in out and "queued again" in out
        (row,) = deliveries(engine)
        assert (row.status, row.attempts) == ("pending", 0)
        code, out, _ = cli("webhooks", "resend", "--team", "acme", url, "--json")
        assert json.loads(out)["queued"] == 0  # queued once; again is nothing more
        assert deliver(engine, now + timedelta(hours=2)).delivered["webhook"] == 1
        keys = [r.headers["X-BG-Delivery"] for r in receiver.at("/hook")]
    assert len(keys) == 3 and len(set(keys)) == 1  # the same delivery, the receiver can dedupe
    assert [r.status for r in deliveries(engine)] == ["delivered"]


def test_resend_only_since_a_day_and_never_to_a_removed_endpoint(
    cli, team, engine: Engine, capsys
) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    with engine.begin() as conn:
        endpoint = conn.execute(
            sa.insert(WebhookEndpoint).returning(WebhookEndpoint.id),
            {"team_id": team, "url": URL, "secret": "s" * 20},
        ).scalar_one()
        for key, day in (("old", 1), ("new", 20)):
            conn.execute(
                sa.insert(Notification),
                {"team_id": team, "endpoint_id": endpoint, "channel": "webhook",
                 "category": "document.matched", "title": key, "body": key,
                 "idempotency_key": key, "status": "dead", "attempts": 20,
                 "created_at": datetime(2026, 3, day, 9, tzinfo=UTC)},
            )  # fmt: skip
    code, out, _ = cli("webhooks", "resend", "--team", "acme", str(endpoint), "--since",
                       "2026-03-10")  # fmt: skip
    assert code == 0 and "1 dead deliveries created since 2026-03-10" in out
    assert {r.title: r.status for r in deliveries(engine)} == {"old": "dead", "new": "pending"}
    code, _, err = cli("webhooks", "resend", "--team", "acme", "999")
    assert code == 2 and "no webhook endpoint 999" in err
    cli("webhooks", "remove", "--team", "acme", str(endpoint))
    code, _, err = cli("webhooks", "resend", "--team", "acme", str(endpoint))
    assert code == 2 and "was removed; add its URL again" in err
    assert {r.title: r.status for r in deliveries(engine)}["old"] == "dead"
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        cli("webhooks", "resend", "--team", "acme", str(endpoint), "--since", "03/10")
    assert exited.value.code == 2 and "not an ISO date (YYYY-MM-DD)" in capsys.readouterr().err


def deliveries(engine: Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Notification).order_by(Notification.id)))
