"""Re-running changes nothing, and the answer does not depend on how days are grouped into runs.

A backfill may run a week as one run, the sensor may run its days one by one in any order, and
an operator may re-run everything: the links people are notified about, the invoices marked
paid and the unmatched queue must come out the same every time.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents import inprocess
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.defs.reconciliation.unmatched import snapshot_unmatched
from bg_agents.lib.db.models import Invoice, Match, Notification, Team
from bg_agents_tests.helpers import WORLD_END, dump, seed
from bg_agents_tests.reconciliation.test_matching_tools import DAY, add_document
from bg_agents_tests.reconciliation.test_reconcile import queue, sensor_tick, unlinked

WEEKS = 2
START = WORLD_END - timedelta(days=7 * WEEKS - 1)
DAYS = [START + timedelta(days=d) for d in range(7 * WEEKS)]


def pairs(engine: Engine) -> set[tuple]:
    """What the matcher stored, by natural key (ids of match rows aside)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Match.record_kind, Match.record_id, Match.transaction_id, Match.decision,
                      Match.status, Match.matched_amount, Match.explanation)
        ).all()  # fmt: skip
    return {tuple(r) for r in rows}


def forget_matching(engine: Engine) -> None:
    """Back to the state before any reconciliation (the seeded invoices are all open)."""
    with engine.begin() as conn:
        conn.execute(sa.delete(Match))
        conn.execute(sa.delete(Notification))
        conn.execute(
            sa.update(Invoice)
            .where(Invoice.status == "paid")
            .values(status="open", amount_paid=Decimal(0), paid_date=None)
        )
    for day in DAYS:
        snapshot_unmatched(engine, day)


def test_the_answer_does_not_depend_on_how_days_are_grouped(engine: Engine):
    seed(engine, teams=3, weeks=WEEKS)
    for day in DAYS:
        ingest_day(engine, day)
        snapshot_unmatched(engine, day)
    groupings = {
        "one run": [(START, WORLD_END)],
        "day by day": [(d, d) for d in DAYS],
        "day by day, backwards": [(d, d) for d in reversed(DAYS)],
        "weeks, backwards": [(START + timedelta(7), WORLD_END), (START, START + timedelta(6))],
    }
    found = {}
    for name, runs in groupings.items():
        forget_matching(engine)
        for start, end in runs:
            reconcile(engine, start, end)
        found[name] = pairs(engine)
    links = {p for p in found["one run"] if p[3] == "link"}
    assert len(links) > 20 and len(found["one run"]) > len(links)  # links and suggestions
    for name, got in found.items():
        assert got == found["one run"], name


def demo_like(url: str, instance: dg.DagsterInstance, days: list[date]) -> None:
    """Each week's days as one run of the daily assets, as `bg-agents demo` does."""
    for monday in days[::7]:
        inprocess.materialize(
            ["transactions", "unmatched_records", "record_matches"],
            instance=instance,
            partition_range=(monday.isoformat(), (monday + timedelta(6)).isoformat()),
            app_db=AppDatabase(url=url),
        )


def test_a_rerun_with_no_new_data_changes_no_row_and_sends_nothing(db_url: str, engine: Engine):
    seed(engine, teams=2, weeks=WEEKS)
    instance = dg.DagsterInstance.ephemeral()
    demo_like(db_url, instance, DAYS[:7])
    earlier = sensor_tick(db_url, None, instance)  # a deployment that ran after the first week
    assert earlier.run_requests == [] and earlier.cursor
    demo_like(db_url, instance, DAYS[7:])
    before = dump(engine)
    assert before["matches"] and before["notifications"]

    # The queue is exactly what is still unlinked once the runs are done.
    assert queue(engine) == unlinked(engine)

    # A deployment starting now (first sensor tick, no cursor) finds the history reconciled.
    tick = sensor_tick(db_url, None, instance)
    assert tick.run_requests == []
    assert int(tick.cursor) == max(r[0] for r in before["unmatched_records"])
    # ... and so does the one that ran before: those days were reconciled after their rows.
    assert sensor_tick(db_url, earlier.cursor, instance).run_requests == []

    demo_like(db_url, instance, DAYS)  # `demo --force`
    for day in DAYS:  # and the sensor's way: one day per run
        reconcile(engine, day, day)
    after = dump(engine)
    for table, rows in before.items():
        assert after[table] == rows, table

    # A receipt arriving now is new work: its day is requested although reconciled before.
    with engine.connect() as conn:
        team_id = conn.scalar(sa.select(sa.func.min(Team.id)))
    add_document(engine, team_id, "123.45", "Quokka Logistics")
    snapshot_unmatched(engine, DAY)
    later = sensor_tick(db_url, tick.cursor, instance)
    assert [r.partition_key for r in later.run_requests] == [DAY.isoformat()]
