"""Reconciliation in the application: links, suggestions, notifications, ties, the sensor."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.defs.reconciliation.sensors import unmatched_records_sensor
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.defs.reconciliation.unmatched import snapshot_unmatched
from bg_agents.lib.agents.backends import OpenAIBackend
from bg_agents.lib.db.models import (
    Invoice,
    LLMCall,
    Match,
    Notification,
    NotificationEvent,
    Team,
    Transaction,
    UnmatchedRecord,
    User,
)
from bg_agents_tests.helpers import WORLD_END, dump, materialize, metadata, seed
from bg_agents_tests.openai_stub import ScriptedOpenAI, reply, tool_calls
from bg_agents_tests.reconciliation.test_matching_tools import DAY, add_document, add_transaction

WEEKS = 4
START = WORLD_END - timedelta(days=7 * WEEKS - 1)


def ingest_and_snapshot(engine: Engine, start=START, end=WORLD_END) -> None:
    day = start
    while day <= end:
        ingest_day(engine, day)
        snapshot_unmatched(engine, day)
        day += timedelta(days=1)


def weekly(engine: Engine):
    for week in range(WEEKS):
        monday = START + timedelta(days=7 * week)
        yield reconcile(engine, monday, monday + timedelta(days=6))


def unlinked(engine: Engine) -> set[tuple[str, int]]:
    """Records with no link, asked independently of the snapshot code."""
    query = sa.text(
        """
        select 'receipt', d.id from documents d
        where not exists (
            select 1 from matches m where m.record_kind = 'document' and m.record_id = d.id
            and m.decision = 'link' and m.status <> 'declined')
        union all
        select 'invoice', i.id from invoices i
        where i.status in ('open', 'partially_paid') and not exists (
            select 1 from matches m where m.record_kind = 'invoice' and m.record_id = i.id
            and m.decision = 'link' and m.status <> 'declined')
        union all
        select 'payment', t.id from transactions t
        where t.amount > 0 and not exists (
            select 1 from matches m where m.transaction_id = t.id
            and m.decision = 'link' and m.status <> 'declined')
        """
    )
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(query)}


def queue(engine: Engine) -> set[tuple[str, int]]:
    with engine.connect() as conn:
        return {
            tuple(r)
            for r in conn.execute(sa.select(UnmatchedRecord.record_kind, UnmatchedRecord.record_id))
        }


def test_links_suggestions_and_notifications_once(engine: Engine):
    seed(engine, teams=2, weeks=WEEKS)
    ingest_and_snapshot(engine)
    reports = list(weekly(engine))
    links = sum(r.decisions["auto"] for r in reports)
    assert links > 20 and sum(r.decisions["suggest"] for r in reports) > 0
    checked = sum(r.truth_checked for r in reports)
    assert checked == links
    assert sum(r.truth_correct for r in reports) / checked >= 0.99  # SIMULATED ground truth
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(sa.func.count()).where(Match.decision == "link"))
        users = dict(
            conn.execute(sa.select(User.team_id, sa.func.count()).group_by(User.team_id)).all()
        )
        per_kind = conn.execute(
            sa.select(Match.team_id, Match.record_kind, sa.func.count())
            .where(Match.decision == "link")
            .group_by(Match.team_id, Match.record_kind)
        ).all()
        receipts = sum(n * users[team] for team, kind, n in per_kind if kind == "document")
        sent = conn.execute(
            sa.select(Notification.status, sa.func.count())
            .where(Notification.category == "document.matched")
            .group_by(Notification.status)
        ).all()
        events = conn.scalar(sa.select(sa.func.count()).select_from(NotificationEvent))
    assert stored == links
    assert events == sum(n for *_, n in per_kind), "the team hears of every link once"
    # A matched receipt is immediate (delivered to each member in the same run); paid invoices
    # wait for their 10-minute digest.
    assert sent == ([("delivered", receipts)] if receipts else [])
    with engine.connect() as conn:
        settled = conn.execute(
            sa.select(Invoice.status, Invoice.amount_paid == Invoice.amount,
                      Invoice.paid_date == Transaction.booking_date)
            .join(Match, (Match.record_kind == "invoice") & (Match.record_id == Invoice.id))
            .join(Transaction, Transaction.id == Match.transaction_id)
            .where(Match.decision == "link")
        ).all()  # fmt: skip
    assert settled and set(settled) == {("paid", True, True)}  # no longer owed in insights

    before = dump(engine)
    again = list(weekly(engine))
    assert sum(r.written for r in again) == 0 and sum(r.notified for r in again) == 0
    assert dump(engine) == before  # re-running changes nothing at all


def test_people_decide_over_the_matcher(engine: Engine):
    seed(engine, teams=1, weeks=WEEKS)
    ingest_and_snapshot(engine)
    list(weekly(engine))
    with Session(engine) as session, session.begin():
        link = session.scalars(sa.select(Match).where(Match.decision == "link").limit(1)).one()
        link.status = "declined"
        declined = (link.record_kind, link.record_id, link.transaction_id)
        suggestion = session.scalars(
            sa.select(Match).where(Match.decision == "suggestion").limit(1)
        ).one()
        suggestion.status = "confirmed"
        confirmed = (suggestion.record_kind, suggestion.record_id, suggestion.transaction_id)
    list(weekly(engine))
    with engine.connect() as conn:
        rows = {
            (m.record_kind, m.record_id, m.transaction_id): m.status
            for m in conn.execute(sa.select(Match))
        }
    assert rows[declined] == "declined" and rows[confirmed] == "confirmed"
    # What the declined link had taken is unlinked again, and back in the queue unless re-matched.
    assert queue(engine) == unlinked(engine)


@pytest.fixture
def tie(engine: Engine) -> dict[str, int]:
    """One receipt with two equally plausible bank rows, a day before and a day after."""
    with Session(engine) as session, session.begin():
        team = Team(slug="acme", name="Acme", time_zone="UTC", base_currency="EUR")
        session.add(team)
        session.flush()
        session.add(User(team_id=team.id, email="a@acme.example", name="Ann"))
        team_id = team.id
    ids = {
        "doc": add_document(engine, team_id, "77.70", "Zyzzyva Supplies"),
        "before": add_transaction(engine, team_id, "-77.70", "ZYZZYVA SUPPLIES",
                                  booking_date=DAY - timedelta(1)),
        "after": add_transaction(engine, team_id, "-77.70", "ZYZZYVA SUPPLIES",
                                 booking_date=DAY + timedelta(1)),
        "far": add_transaction(engine, team_id, "-77.70", "ZYZZYVA SUPPLIES",
                               booking_date=DAY + timedelta(25)),
    }  # fmt: skip
    snapshot_unmatched(engine, DAY)
    return ids


def links(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(Match.transaction_id, Match.decision, Match.status).order_by(Match.id)
        ).all()


def test_the_model_breaks_a_tie_through_match_record(engine: Engine, tie: dict[str, int]):
    choice = {"record_id": f"doc-{tie['doc']}", "candidate_id": f"tx-{tie['after']}",
              "confidence": 0.9}  # fmt: skip
    with ScriptedOpenAI(tool_calls([("match_record", choice)]), reply("Linked.")) as server:
        backend = OpenAIBackend(api_key="test", base_url=server.base_url)
        report = reconcile(engine, DAY, DAY, backend=backend)
        prompt = server.requests[0].body["messages"][-1]["content"]
    assert f"tx-{tie['before']}" in prompt and f"tx-{tie['after']}" in prompt
    assert f"tx-{tie['far']}" not in prompt  # outside the tie: never offered
    assert (report.ties, report.model_calls, report.model_links) == (1, 2, 1)
    assert links(engine) == [(tie["after"], "link", "auto")]
    assert report.notified == 1  # the team hears of a link the model chose like of any other
    with engine.connect() as conn:  # and it leaves the unmatched queue
        queued = conn.execute(sa.select(UnmatchedRecord.record_kind, UnmatchedRecord.record_id))
        assert ("receipt", tie["doc"]) not in set(queued)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(LLMCall)) == 2


def test_an_insisting_model_cannot_link_outside_the_tie(engine: Engine, tie: dict[str, int]):
    bad = {"record_id": f"doc-{tie['doc']}", "candidate_id": f"tx-{tie['far']}",
           "confidence": 1.0}  # fmt: skip
    with ScriptedOpenAI(
        tool_calls([("match_record", bad)]),
        tool_calls([("match_record", bad)]),
        reply("I linked it."),
    ) as server:
        backend = OpenAIBackend(api_key="test", base_url=server.base_url)
        report = reconcile(engine, DAY, DAY, backend=backend)
        refusal = json.loads(server.requests[1].body["messages"][-1]["content"])
    assert "not one of the candidates offered" in refusal["error"]
    assert report.model_links == 0
    assert {(tx, d) for tx, d, _ in links(engine)} == {
        (tie["before"], "suggestion"),
        (tie["after"], "suggestion"),
    }


def test_without_a_model_ties_wait_for_a_person(engine: Engine, tie: dict[str, int]):
    report = reconcile(engine, DAY, DAY)
    assert (report.ties, report.model_calls) == (1, 0)
    assert {d for _, d, _ in links(engine)} == {"suggestion"}


def test_a_tie_left_to_a_person_stays_with_the_person(engine: Engine, tie: dict[str, int]):
    """Re-running (now with a model configured) must not turn a stored tie into a link."""
    reconcile(engine, DAY, DAY)
    before = dump(engine)
    choice = {"record_id": f"doc-{tie['doc']}", "candidate_id": f"tx-{tie['after']}",
              "confidence": 0.9}  # fmt: skip
    with ScriptedOpenAI(tool_calls([("match_record", choice)]), reply("Linked.")) as server:
        backend = OpenAIBackend(api_key="test", base_url=server.base_url)
        report = reconcile(engine, DAY, DAY, backend=backend)
        assert server.requests == []
    assert (report.ties, report.model_calls, report.written) == (1, 0, 0)
    assert dump(engine) == before


def test_a_tie_the_model_broke_is_not_asked_again(engine: Engine, tie: dict[str, int]):
    """The model's choice is stored; a re-run reuses it (no call, no ledger row, no change)."""
    choice = {"record_id": f"doc-{tie['doc']}", "candidate_id": f"tx-{tie['after']}",
              "confidence": 0.9}  # fmt: skip
    with ScriptedOpenAI(tool_calls([("match_record", choice)]), reply("Linked.")) as server:
        backend = OpenAIBackend(api_key="test", base_url=server.base_url)
        reconcile(engine, DAY, DAY, backend=backend)
        before, asked = dump(engine), len(server.requests)
        again = reconcile(engine, DAY, DAY, backend=backend)
        assert len(server.requests) == asked == 2
    assert (again.model_calls, again.written, again.notified) == (0, 0, 0)
    assert links(engine) == [(tie["after"], "link", "auto")]
    assert dump(engine) == before


def test_an_announced_link_stays_when_later_data_makes_it_a_tie(engine: Engine):
    """A late bank row as good as the linked one: the team was told, so the link stays (a
    person may decline it), nothing contradicting it is proposed, and re-runs change nothing."""
    with Session(engine) as session, session.begin():
        team = Team(slug="acme", name="Acme", time_zone="UTC", base_currency="EUR")
        session.add(team)
        session.flush()
        session.add(User(team_id=team.id, email="a@acme.example", name="Ann"))
        team_id = team.id
    add_document(engine, team_id, "77.70", "Zyzzyva Supplies")
    first = add_transaction(engine, team_id, "-77.70", "ZYZZYVA SUPPLIES",
                            booking_date=DAY - timedelta(1))  # fmt: skip
    snapshot_unmatched(engine, DAY)
    assert reconcile(engine, DAY, DAY).notified == 1
    assert links(engine) == [(first, "link", "auto")]
    add_transaction(engine, team_id, "-77.70", "ZYZZYVA SUPPLIES", booking_date=DAY + timedelta(1))
    later = reconcile(engine, DAY + timedelta(1), DAY + timedelta(1))
    assert (later.written, later.notified) == (0, 0)
    assert links(engine) == [(first, "link", "auto")]
    before = dump(engine)
    reconcile(engine, DAY, DAY + timedelta(1))
    assert dump(engine) == before


def sensor_tick(
    url: str, cursor: str | None, instance: dg.DagsterInstance | None = None
) -> dg.SensorResult:
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance or dg.DagsterInstance.ephemeral(),
        resources={"app_db": AppDatabase(url=url)},
    )
    return unmatched_records_sensor(context)


def test_sensor_requests_each_batch_of_new_records_exactly_once(db_url: str, engine: Engine):
    seed(engine, teams=1, weeks=1)
    first_days = (WORLD_END - timedelta(days=6), WORLD_END - timedelta(days=4))
    ingest_and_snapshot(engine, *first_days)
    tick = sensor_tick(db_url, None)
    days = sorted(r.partition_key for r in tick.run_requests)
    assert days and days[0] >= first_days[0].isoformat() and days[-1] <= first_days[1].isoformat()
    assert len({r.run_key for r in tick.run_requests}) == len(tick.run_requests)

    assert sensor_tick(db_url, tick.cursor).run_requests == []  # nothing new: nothing requested
    ingest_and_snapshot(engine, *first_days)  # a re-snapshot keeps ids: still nothing new
    again = sensor_tick(db_url, tick.cursor)
    assert again.run_requests == []

    ingest_and_snapshot(engine, WORLD_END, WORLD_END)
    later = sensor_tick(db_url, tick.cursor)
    with engine.connect() as conn:
        new = conn.scalar(
            sa.select(sa.func.count()).where(UnmatchedRecord.record_date == WORLD_END)
        )
    assert new > 0
    assert [r.partition_key for r in later.run_requests] == [WORLD_END.isoformat()]


def test_record_matches_asset_reports_decisions_and_changes_nothing_on_rerun(
    db_url: str, engine: Engine
):
    seed(engine, teams=2, weeks=2)
    ingest_and_snapshot(engine, WORLD_END - timedelta(days=13), WORLD_END)
    instance = dg.DagsterInstance.ephemeral()
    key = (WORLD_END - timedelta(days=2)).isoformat()
    first = metadata(materialize(db_url, ["record_matches"], key, instance), "record_matches")
    assert first["run/records"] > 0
    assert first["auto_links"] + first["suggestions"] > 0
    assert first["run/llm_calls"] == 0  # offline: ties wait for people, no model is called
    assert first["auto_links"] > 0 and first["run/simulated_precision"] >= 0.99
    assert first["changed"] is True and "decision" in first["explanations"]
    second = metadata(materialize(db_url, ["record_matches"], key, instance), "record_matches")
    # The same answer again (the run reports what its days hold), with nothing written or sent:
    # the partition keeps its figures and says it did not change.
    assert second["changed"] is False
    assert second["run/written"] == 0 and second["run/notified"] == 0
    assert second["dagster/row_count"] == first["dagster/row_count"] > 0
    assert (second["auto_links"], second["suggestions"]) == (
        first["auto_links"],
        first["suggestions"],
    )


def test_an_unknown_profile_fails_the_run_with_the_known_ones(db_url: str, engine: Engine):
    from bg_agents import inprocess

    with pytest.raises(dg.Failure, match="unknown profile 'loose'; known: seed, strict, lenient"):
        inprocess.materialize(
            ["record_matches"],
            instance=dg.DagsterInstance.ephemeral(),
            partition_key=DAY.isoformat(),
            app_db=AppDatabase(url=db_url),
            run_config={"ops": {"record_matches": {"config": {"profile": "loose"}}}},
        )
