"""``bg-agents reminders preview|run`` in-process against the test's own database: what a team's
09:00 would send (local and UTC, already sent or planned), running a day's due slots (twice:
nothing new the second time), and one-line errors."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.defs.reminders.run import slot_due_at
from bg_agents.lib.db.models import NotificationEvent, ReminderSettings
from bg_agents_tests.reminders.conftest import add_customer, add_invoice, add_team, pay

DAY = date(2026, 3, 2)
BERLIN_DUE = slot_due_at(DAY, "UTC+01:00")  # 08:00 UTC
NOW = BERLIN_DUE + timedelta(minutes=3)  # New York's 09:00 (14:00 UTC) has not come yet


@pytest.fixture
def cli(app_env, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", NOW.isoformat())

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run


@pytest.fixture
def world(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        acme = add_team(conn, "acme")
        conn.execute(sa.insert(ReminderSettings), {"team_id": acme, "customer_reminders": True})
        globex = add_customer(conn, acme, "Globex", company="Globex AG",
                              email="ap@globex.test", reminders_opt_in=True)  # fmt: skip
        ids = {
            "late7": add_invoice(
                conn, acme, "RE-7", DAY - timedelta(days=7), "1234.50", customer=globex
            ),  # fmt: skip
            "soon": add_invoice(conn, acme, "RE-S", DAY + timedelta(days=2)),
            "paid": add_invoice(conn, acme, "RE-P", DAY - timedelta(days=1)),
        }
        ny = add_team(conn, "globex-ny", "America/New_York")
        add_invoice(conn, ny, "NY-1", DAY)
    return ids


def test_preview_shows_what_and_when_in_local_and_utc_time(engine, world, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("reminders", "preview", "--team", "acme", "--date", str(DAY))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "acme (Europe/Berlin), 2026-03-02: 09:00 local (2026-03-02 09:00 CET) = "
        "2026-03-02 08:00 UTC, slot UTC+01:00; due now"
    )
    assert lines[1] == "team reminders: 3"
    rows = [line.split() for line in lines[3:6]]
    assert rows[0] == ["RE-7", "Globex", "AG", "overdue_7", "1234.50", "EUR", "2026-02-23",
                       "planned"]  # fmt: skip
    assert [r[0] for r in rows] == ["RE-7", "RE-P", "RE-S"]
    assert "customer e-mails: 1" in lines and "ap@globex.test" in out and "after_7" in out
    _, as_json, _ = cli("reminders", "preview", "--team", "acme", "--date", str(DAY), "--json")
    preview = json.loads(as_json)
    assert preview["due_at"] == "2026-03-02T08:00:00+00:00"
    assert preview["due_local"] == "2026-03-02T09:00:00+01:00"
    assert {(r["invoice"], r["kind"], r["status"]) for r in preview["team_reminders"]} == {
        ("RE-7", "overdue_7", "planned"),
        ("RE-S", "due_soon", "planned"),
        ("RE-P", "overdue_1", "planned"),
    }
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(NotificationEvent)) == 0


def test_run_sends_the_due_slots_once_and_preview_then_says_sent(engine, world, cli) -> None:  # type: ignore[no-untyped-def]
    pay(engine, world["paid"])
    code, out, _ = cli("reminders", "run", "--date", str(DAY))
    assert code == 0
    assert "UTC+01:00 (09:00 = 2026-03-02 08:00 UTC) deliver: 1 teams; team reminders 2" in out
    assert "UTC-05:00 (09:00 = 2026-03-02 14:00 UTC) not due yet" in out
    assert "customer e-mails queued 1, sent 0" in out  # no SMTP server configured here
    assert out.splitlines()[-2].startswith("total: 2 team reminders new, 0 customer e-mails")
    code, again, _ = cli("reminders", "run", "--date", str(DAY), "--json")
    counts = json.loads(again)
    assert code == 0 and counts["total"]["reminders"] == 0 and counts["total"]["teams"] == 1
    assert counts["total"]["customers_emailed"] == 0
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(NotificationEvent)) == 2
    _, after, _ = cli("reminders", "preview", "--team", "acme", "--date", str(DAY), "--json")
    statuses = {r["invoice"]: r["status"] for r in json.loads(after)["team_reminders"]}
    assert statuses == {"RE-7": "notified", "RE-S": "notified"}


def test_run_for_one_team_leaves_the_others(engine, world, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("reminders", "run", "--date", str(DAY), "--team", "acme", "--json")
    assert code == 0 and [s["slot"] for s in json.loads(out)["slots"]] == ["UTC+01:00"]


def test_mistakes_are_one_line(world, cli) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("preview", "--team", "nobody", "--date", str(DAY)),
        ("run", "--date", str(DAY), "--team", "nobody"),
    ):
        code, _, err = cli("reminders", *args)
        assert code == 2, args
        assert err.strip() == (
            "bg-agents: error: no team with slug 'nobody' (bg-agents teams lists them)"
        )


def test_a_date_that_is_not_one_is_refused_by_the_parser(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        main(["reminders", "run", "--date", "2026-02-30"])
    assert exit_.value.code == 2 and "not an ISO date" in capsys.readouterr().err
