"""Team reminders at 09:00 local: each open invoice due soon or on an escalation day once per
(invoice, kind, day), never for an invoice paid before its reminder goes out, in one digest."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from bg_agents.defs.notifications.flush import GRACE, flush
from bg_agents.defs.reminders import team as team_module
from bg_agents.defs.reminders.run import run_slot, slot_due_at
from bg_agents.defs.reminders.team import plan_team
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import Invoice, NotificationEvent, NotificationMessage, Reminder
from bg_agents_tests.reminders.conftest import add_customer, add_invoice, add_team, pay, reminders

DAY = date(2026, 3, 2)  # a Monday; Berlin is at UTC+01:00
SLOT = "UTC+01:00"
DUE = slot_due_at(DAY, SLOT)  # 08:00 UTC
WINDOW = timedelta(hours=24)


def _berlin(engine, **invoices: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One Berlin team with an invoice due ``DAY + days`` per name; returns their ids."""
    with engine.begin() as conn:
        team = add_team(conn, "acme")
        return {name: add_invoice(conn, team, name, DAY + timedelta(days=d))
                for name, d in invoices.items()}  # fmt: skip


def _events(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            sa.select(NotificationEvent.idempotency_key, NotificationEvent.title).order_by(
                NotificationEvent.idempotency_key
            )
        ).all()


def test_each_open_invoice_of_the_slot_is_reminded_once_by_its_kind(engine) -> None:  # type: ignore[no-untyped-def]
    ids = _berlin(engine, today=0, in2=2, in3=3, late1=-1, late2=-2, late7=-7, late14=-14,
                  late30=-30, late31=-31)  # fmt: skip
    with engine.begin() as conn:
        paid = add_invoice(conn, 1, "settled", DAY - timedelta(days=1), status="paid", paid="100")
        ny = add_team(conn, "nyc", "America/New_York")  # 09:00 there is UTC-05:00: not this slot
        add_invoice(conn, ny, "ny-today", DAY)
    first = run_slot(engine, DAY, SLOT, DUE + timedelta(minutes=1), WINDOW)
    assert first.action == "deliver" and first.teams == 1
    assert dict(first.notified) == {"due_soon": 2, "overdue_1": 1, "overdue_7": 1,
                                    "overdue_14": 1, "overdue_30": 1}  # fmt: skip
    expected = sorted(
        [(f"reminder:team:{ids[n]}:due_soon:{DAY}", "notified") for n in ("today", "in2")]
        + [(f"reminder:team:{ids[f'late{d}']}:overdue_{d}:{DAY}", "notified")
           for d in (1, 7, 14, 30)]
    )  # fmt: skip
    assert reminders(engine) == expected
    assert [k for k, _ in _events(engine)] == [k for k, _ in expected]
    assert all(f":{paid}:" not in k for k, _ in expected)
    titles = dict(_events(engine))
    assert titles[f"reminder:team:{ids['today']}:due_soon:{DAY}"] == (
        "Invoice today: 100.00 EUR, due today"
    )
    assert titles[f"reminder:team:{ids['in2']}:due_soon:{DAY}"] == (
        "Invoice in2: 100.00 EUR, due in 2 days"
    )
    assert titles[f"reminder:team:{ids['late1']}:overdue_1:{DAY}"] == (
        "Invoice late1: 100.00 EUR, 1 day overdue"
    )
    # A retry, a backfill, the next sensor tick: nothing decided twice, nothing sent twice.
    again = run_slot(engine, DAY, SLOT, DUE + timedelta(hours=2), WINDOW)
    assert sum(again.notified.values()) == 0 and reminders(engine) == expected
    assert len(_events(engine)) == len(expected)


def test_nothing_before_nine_and_a_skip_recorded_after_the_window(engine) -> None:  # type: ignore[no-untyped-def]
    ids = _berlin(engine, late7=-7)
    early = run_slot(engine, DAY, SLOT, DUE - timedelta(seconds=1), WINDOW)
    assert early.action == "wait" and reminders(engine) == []
    late = run_slot(engine, DAY, SLOT, DUE + WINDOW + timedelta(seconds=1), WINDOW)
    assert (late.action, late.skipped_late, sum(late.notified.values())) == ("skip", 1, 0)
    assert reminders(engine) == [(f"reminder:team:{ids['late7']}:overdue_7:{DAY}", "skipped_late")]
    assert _events(engine) == []


def test_a_partial_payment_shows_the_amount_still_owed(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = add_team(conn, "acme")
        acme = add_customer(conn, team, "Acme", company="Acme GmbH")
        invoice = add_invoice(conn, team, "RE-2026-0012", DAY - timedelta(days=7), "1434.00",
                              customer=acme, status="partially_paid", paid="200")  # fmt: skip
    with engine.connect() as conn:
        (planned,) = plan_team(conn, DAY, SLOT)
    expected = "Invoice RE-2026-0012 (Acme GmbH): 1,234.00 EUR, 7 days overdue"
    assert planned.words().english() == expected
    pay(engine, invoice, "434.00")  # a second part, paid after the preview
    run_slot(engine, DAY, SLOT, DUE, WINDOW)
    ((_, title),) = _events(engine)
    assert title == "Invoice RE-2026-0012 (Acme GmbH): 1,000.00 EUR, 7 days overdue"
    with engine.connect() as conn:
        event = conn.execute(sa.select(NotificationEvent.payload)).scalar_one()
        stored = conn.execute(sa.select(Reminder.amount_due)).scalar_one()
    assert event["amount_due"] == "1000.00" and str(stored.normalize()) == "1E+3"


def test_a_payment_committed_between_planning_and_sending_stops_the_reminder(
    engine, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    ids = _berlin(engine, late7=-7, late14=-14)
    read = team_module._candidates

    def then_paid(conn, local_date, team_ids):  # type: ignore[no-untyped-def]
        rows = read(conn, local_date, team_ids)
        pay(engine, ids["late7"])  # reconciliation commits a match in another transaction
        return rows

    monkeypatch.setattr(team_module, "_candidates", then_paid)
    result = run_slot(engine, DAY, SLOT, DUE, WINDOW)
    assert (dict(result.notified), result.skipped_paid) == ({"overdue_14": 1}, 1)
    assert dict(reminders(engine)) == {
        f"reminder:team:{ids['late14']}:overdue_14:{DAY}": "notified",
        f"reminder:team:{ids['late7']}:overdue_7:{DAY}": "skipped_paid",
    }
    assert [k for k, _ in _events(engine)] == [f"reminder:team:{ids['late14']}:overdue_14:{DAY}"]


def test_an_invoice_paid_before_the_run_is_not_reminded(engine) -> None:  # type: ignore[no-untyped-def]
    ids = _berlin(engine, late7=-7)
    with engine.connect() as conn:
        assert len(plan_team(conn, DAY, SLOT)) == 1
    pay(engine, ids["late7"])
    result = run_slot(engine, DAY, SLOT, DUE, WINDOW)
    assert sum(result.notified.values()) == 0 and _events(engine) == []


def test_paid_after_the_reminder_was_stored_the_digest_leaves_it_out(engine) -> None:  # type: ignore[no-untyped-def]
    ids = _berlin(engine, late7=-7, late14=-14, today=0)
    run_slot(engine, DAY, SLOT, DUE + timedelta(minutes=2), WINDOW)
    pay(engine, ids["late7"])  # matched at 09:10, the digest goes at 09:30
    with engine.begin() as conn:
        conn.execute(sa.update(team_module.Invoice).where(team_module.Invoice.id == ids["today"])
                     .values(status="void"))  # fmt: skip
    sent = flush(engine, DUE + timedelta(minutes=30) + GRACE, email=False)
    assert (sent.singles, sent.digests, sent.events) == (1, 0, 1)
    with engine.connect() as conn:
        (message,) = conn.execute(sa.select(NotificationMessage)).all()
        withdrawn = conn.execute(
            sa.select(NotificationEvent.idempotency_key, NotificationEvent.withdrawn_reason)
            .where(NotificationEvent.withdrawn_at.is_not(None))
            .order_by(NotificationEvent.idempotency_key)
        ).all()
    assert message.title == "Invoice late14: 100.00 EUR, 14 days overdue"
    assert withdrawn == [
        (f"reminder:team:{ids['late7']}:overdue_7:{DAY}", "invoice paid"),
        (f"reminder:team:{ids['today']}:due_soon:{DAY}", "invoice void"),
    ]
    assert dict(reminders(engine)) == {
        f"reminder:team:{ids['late7']}:overdue_7:{DAY}": "skipped_paid",
        f"reminder:team:{ids['late14']}:overdue_14:{DAY}": "notified",
        f"reminder:team:{ids['today']}:due_soon:{DAY}": "skipped_paid",
    }
    later = flush(engine, DUE + timedelta(hours=3), email=False)
    assert (later.singles, later.digests) == (0, 0), "a withdrawn event never waits again"


def test_twelve_due_invoices_make_one_digest_not_twelve_messages(engine) -> None:  # type: ignore[no-untyped-def]
    _berlin(engine, **{f"RE-{i:02d}": -7 if i % 2 else 1 for i in range(12)})
    result = run_slot(engine, DAY, SLOT, DUE + timedelta(minutes=1), WINDOW)
    assert sum(result.notified.values()) == 12
    assert flush(engine, DUE + timedelta(minutes=29), email=False).digests == 0
    sent = flush(engine, DUE + timedelta(minutes=30) + GRACE, email=False)
    assert (sent.digests, sent.singles, sent.events) == (1, 0, 12)
    with engine.connect() as conn:
        (message,) = conn.execute(sa.select(NotificationMessage)).all()
    assert message.title == "12 unpaid invoices" and message.item_count == 12
    assert message.body.splitlines()[0] == "12 unpaid invoices:"


@pytest.mark.postgres
def test_two_racing_runs_on_postgres_send_each_reminder_once(postgres_url) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db import migrate

    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        teams = [add_team(conn, f"t{i}") for i in range(4)]
        for t in teams:
            for d in (-30, -14, -7, -1, 0, 1, 2):
                add_invoice(conn, t, f"{t}-{d}", DAY + timedelta(days=d))
    start = threading.Barrier(2)
    results = []

    def racer() -> None:
        own = get_engine(postgres_url)  # its own pool: separate connections
        start.wait()
        results.append(run_slot(own, DAY, SLOT, DUE, WINDOW))
        own.dispose()

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(sum(r.notified.values()) for r in results) == 28
    with engine.connect() as conn:
        keys = conn.scalars(sa.select(Reminder.key)).all()
        events = conn.scalars(sa.select(NotificationEvent.idempotency_key)).all()
    assert len(keys) == len(set(keys)) == 28 and sorted(events) == sorted(keys)
    engine.dispose()


def test_an_invoice_deleted_while_the_run_decides_is_left_out(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Deleted between the first read and the locked re-read: no reminder row (it would point at
    no invoice and roll back every other team of the chunk with it), the others go out."""
    ids = _berlin(engine, late7=-7, late14=-14)
    lock_and_reread = team_module._lock_and_reread

    def deleted_meanwhile(conn, invoice_ids):  # type: ignore[no-untyped-def]
        conn.execute(sa.delete(Invoice).where(Invoice.id == ids["late7"]))
        return lock_and_reread(conn, invoice_ids)

    monkeypatch.setattr(team_module, "_lock_and_reread", deleted_meanwhile)
    result = run_slot(engine, DAY, SLOT, DUE + timedelta(minutes=1), WINDOW)
    assert dict(result.notified) == {"overdue_14": 1}
    assert reminders(engine) == [(f"reminder:team:{ids['late14']}:overdue_14:{DAY}", "notified")]
