"""A simulated clock walks March 2026 at the sensor's pace (5-minute ticks; New York, St John's
and London change to summer time in it) over nine awkward time zones, with a ten-hour daemon
outage and a payment mid-month: each (invoice, kind, local date) is decided exactly once, sent
between 09:00 and 09:05 local, or at the end of the outage when its 09:00 fell inside it and the
catch-up window still allows, else recorded as skipped; a paid invoice is reminded no more."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bg_agents.defs.reminders import rules
from bg_agents.defs.reminders.run import run_slot, slot_due_at, units_to_run
from bg_agents.lib.db.models import Invoice, NotificationEvent, Reminder, Team
from bg_agents.lib.delivery_slots import day_slot
from bg_agents_tests.helpers import AWKWARD_ZONES
from bg_agents_tests.reminders.conftest import add_invoice, add_team

ZONES = AWKWARD_ZONES
# Ticks at hh:02:30, hh:07:30, ...: a 09:00 is seen 2.5 minutes late, as a real daemon's would.
START = datetime(2026, 3, 1, 0, 2, 30, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
TICK = timedelta(minutes=5)
WINDOW = timedelta(hours=6)
# Down from 16:00 to 01:55 UTC, back at the 01:57:30 tick. 09:00 of 16 March is due inside it for
# Kiritimati (15th 19:00 UTC, 6 h 57 min before the tick: skipped), Chatham (19:15, 6 h 42:
# skipped), Pago Pago (15 March 09:00 = 20:00 UTC, 5 h 57: sent) and Lord Howe (22:00: sent).
OUTAGE = (datetime(2026, 3, 15, 16, tzinfo=UTC), datetime(2026, 3, 16, 1, 55, tzinfo=UTC))
PAID_AT = datetime(2026, 3, 10, 12, tzinfo=UTC)
PAID_DUE = date(2026, 3, 5)  # invoices due that day are paid at PAID_AT
RESUMED = START + -(-(OUTAGE[1] - START) // TICK) * TICK  # the first tick after the outage


def _world(engine) -> None:  # type: ignore[no-untyped-def]
    """A team per zone with an open invoice due each day from 1 February to 3 April."""
    with engine.begin() as conn:
        for i, zone in enumerate(ZONES):
            team = add_team(conn, f"t{i}", zone)
            day = date(2026, 2, 1)
            while day <= date(2026, 4, 3):
                add_invoice(conn, team, f"{i}-{day}", day)
                day += timedelta(days=1)


def _simulate(engine) -> Counter[str]:  # type: ignore[no-untyped-def]
    """The daemon: sensor ticks (cursor = last tick, run key = unit), each run's run_slot."""
    run_keys: set[tuple[date, str]] = set()
    actions: Counter[str] = Counter()
    cursor = now = START
    paid = False
    while now < END:
        now += TICK
        if not paid and now >= PAID_AT:
            with engine.begin() as conn:
                conn.execute(
                    sa.update(Invoice)
                    .where(Invoice.due_date == PAID_DUE)
                    .values(status="paid", amount_paid=Invoice.amount)
                )
            paid = True
        if OUTAGE[0] <= now < OUTAGE[1]:
            continue  # the daemon is down: the cursor stays put
        for unit in units_to_run(cursor, now, ZONES, WINDOW, done=lambda d, s: (d, s) in run_keys):
            assert unit not in run_keys, "a unit requested twice"
            run_keys.add(unit)
            actions[run_slot(engine, *unit, now, WINDOW).action] += 1
        cursor = now
    return actions


def test_a_month_of_ticks_reminds_each_invoice_kind_and_day_once_at_nine_local(engine) -> None:  # type: ignore[no-untyped-def]
    _world(engine)
    actions = _simulate(engine)
    assert actions["wait"] == 0 and actions["skip"] == 2
    with engine.connect() as conn:
        zone_of = dict(conn.execute(sa.select(Team.id, Team.time_zone)).all())
        invoices = conn.execute(sa.select(Invoice.id, Invoice.team_id, Invoice.due_date)).all()
        stored = {r.key: r for r in conn.execute(sa.select(Reminder)).all()}
        events = set(conn.scalars(sa.select(NotificationEvent.idempotency_key)))
    expected = set()
    for invoice in invoices:
        zone = zone_of[invoice.team_id]
        for offset in range(-2, 33):
            day = date(2026, 3, 1) + timedelta(days=offset)
            kind = rules.team_kind(invoice.due_date, day)
            due = slot_due_at(day, day_slot(day, rules.REMINDER_TIME, zone))
            if kind and START - WINDOW < due <= END:
                expected.add((rules.team_key(invoice.id, kind, day), zone, due, invoice.due_date))
    assert len(expected) > 1_900
    caught_up, skipped, after_payment = set(), set(), 0
    for key, zone, due, due_date in expected:
        if due_date == PAID_DUE and due > PAID_AT:
            assert key not in stored, "a paid invoice is reminded no more"
            after_payment += 1
            continue
        row = stored.pop(key)  # exactly one decision per (invoice, kind, local date)
        sent = row.created_at
        if due <= START:  # due before the first tick: a fresh deployment catches up at once
            assert sent == START + TICK and row.status == "notified"
        elif OUTAGE[0] <= due < OUTAGE[1]:
            assert sent == RESUMED, key
            if RESUMED - due <= WINDOW:
                assert row.status == "notified"
                caught_up.add(zone)
            else:
                assert row.status == "skipped_late"
                skipped.add(zone)
        else:
            local = sent.astimezone(ZoneInfo(zone))
            assert row.status == "notified" and local.date() == row.local_date, key
            assert (local.hour, local.minute // 5) == (9, 0), (key, local)
        assert (key in events) == (row.status == "notified")
    assert stored == {}, "no reminder outside the rules"
    assert after_payment == 9 * 2  # overdue_7 and overdue_14 of the paid invoices
    assert sorted(caught_up) == ["Australia/Lord_Howe", "Pacific/Pago_Pago"]
    assert sorted(skipped) == ["Pacific/Chatham", "Pacific/Kiritimati"]
