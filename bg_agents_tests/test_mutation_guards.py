"""Guards for figures users rely on that the suite once let change unnoticed: which invoice
statuses count as owed (insight facts, the facts check, reconciliation scope, the unmatched
queue), the overdue and issue-date boundaries of a week, and the offline insight's 3 to 5
bullets within the word budget."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs.insights.facts import MAX_BULLETS, MAX_WORDS, MIN_BULLETS
from bg_agents.defs.insights.quality import recomputed_inputs
from bg_agents.defs.insights.service import (
    TeamRow,
    generate_slot,
    load_inputs,
    offline_insights,
)
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.defs.reconciliation.unmatched import snapshot_unmatched
from bg_agents.lib.agents.backends import OfflineBackend
from bg_agents.lib.agents.messages import Message
from bg_agents.lib.db.models import Invoice, Match, Team, Transaction, UnmatchedRecord, WeeklyMetric
from bg_agents.lib.delivery_slots import slot_for
from bg_agents_tests.helpers import one_team_with_metrics

WEEK = date(2026, 3, 2)  # a Monday
NEXT = WEEK + timedelta(days=7)  # invoices due before it are overdue at the week's end

# (number, status, amount, amount paid, issue date, due date); owed = amount - amount paid.
INVOICES = [
    ("OPEN-LATE", "open", "100.00", "0", WEEK - timedelta(30), WEEK + timedelta(1)),
    ("PART-LATE", "partially_paid", "300.00", "100.00", WEEK - timedelta(30), WEEK + timedelta(2)),
    ("OPEN-SUNDAY", "open", "8.00", "0", WEEK - timedelta(10), WEEK + timedelta(6)),
    ("PAID-LATE", "paid", "5000.00", "5000.00", WEEK - timedelta(30), WEEK + timedelta(1)),
    ("VOID-LATE", "void", "7000.00", "0", WEEK - timedelta(30), WEEK + timedelta(1)),
    ("OPEN-MONDAY", "open", "16.00", "0", WEEK - timedelta(10), NEXT),
    ("OPEN-LATER", "open", "40.00", "0", WEEK, WEEK + timedelta(20)),
    ("PART-LATER", "partially_paid", "90.00", "30.00", WEEK, WEEK + timedelta(21)),
    ("PAID-LATER", "paid", "900.00", "900.00", WEEK, WEEK + timedelta(20)),
    ("VOID-LATER", "void", "800.00", "0", WEEK, WEEK + timedelta(20)),
    ("ISSUED-NEXT-WEEK", "open", "2000.00", "0", NEXT, NEXT + timedelta(1)),
]
# Overdue: OPEN-LATE 100 + PART-LATE 200 + OPEN-SUNDAY 8 (due the week's last day).
OVERDUE = (Decimal("308.00"), 3)
# Receivables, overdue included: + OPEN-MONDAY 16 (due the next Monday, not yet late)
# + OPEN-LATER 40 + PART-LATER 60. Paid, void and next week's invoice are nobody's debt today.
RECEIVABLES = (Decimal("424.00"), 6)


def _team(engine: Engine, slug: str = "acme") -> TeamRow:
    with Session(engine) as session, session.begin():
        team = Team(slug=slug, name="Acme", time_zone="UTC", base_currency="USD", locale="en_US")
        session.add(team)
        session.flush()
        return TeamRow(team.id, slug, "Acme", "UTC", "USD", "en_US")


def _measured(engine: Engine, team_id: int) -> None:
    zero = Decimal(0)
    with Session(engine) as session, session.begin():
        session.add(
            WeeklyMetric(
                team_id=team_id, week_start=WEEK, currency="USD", revenue=Decimal("500"),
                expenses=Decimal("200"), net=Decimal("300"), transaction_count=3, income_count=1,
                expense_count=2, prev_revenue=zero, prev_expenses=zero, prev_net=zero,
                revenue_change_pct=None, expenses_change_pct=None, net_change_pct=None,
            )
        )  # fmt: skip


def _invoices(
    engine: Engine, team_id: int, rows: list[tuple[str, str, str, str, date, date]] = INVOICES
) -> dict[str, int]:
    ids = {}
    with Session(engine) as session, session.begin():
        for number, status, amount, paid, issued, due in rows:
            invoice = Invoice(
                team_id=team_id, number=number, amount=Decimal(amount), currency="USD",
                issue_date=issued, due_date=due, status=status, amount_paid=Decimal(paid),
            )  # fmt: skip
            session.add(invoice)
            session.flush()
            ids[number] = invoice.id
    return ids


def test_each_open_status_is_owed_and_paid_or_void_is_not_in_the_insight_facts(
    engine: Engine,
) -> None:
    """Open and partially paid invoices are owed (the unpaid part), overdue when due before the
    next Monday; paid and void ones never count, nor one issued after the week. The facts check
    recomputes the same figures on its own."""
    team = _team(engine)
    _measured(engine, team.id)
    _invoices(engine, team.id)
    with engine.connect() as conn:
        loaded = load_inputs(conn, [team], WEEK)[team.id]
        checked = recomputed_inputs(conn, [team.id], WEEK)[team.id]
    for inputs in (loaded, checked):
        assert (inputs.overdue_amount, inputs.overdue_count) == OVERDUE
        assert (inputs.receivables, inputs.receivables_count) == RECEIVABLES


def _payment(engine: Engine, team_id: int, amount: str, reference: str, day: date) -> int:
    with Session(engine) as session, session.begin():
        tx = Transaction(
            team_id=team_id, source="bank", external_id=f"pay-{reference}", booking_date=day,
            amount=Decimal(amount), currency="USD", base_amount=Decimal(amount),
            description=f"TRANSFER {reference}", counterparty="Customer", reference=reference,
        )  # fmt: skip
        session.add(tx)
        session.flush()
        return tx.id


def test_reconciliation_settles_open_invoices_and_leaves_paid_and_void_ones_alone(
    engine: Engine,
) -> None:
    """A payment quoting an open or partially paid invoice links it and marks it paid; the same
    payment for a paid or void invoice links nothing, and only the owed invoices wait in the
    unmatched queue before the run."""
    team = _team(engine)
    day = WEEK + timedelta(2)
    issued, due = WEEK - timedelta(5), WEEK + timedelta(25)
    rows = [
        ("INV-OPEN", "open", "1200.00", "0", issued, due),
        ("INV-PART", "partially_paid", "800.00", "0", issued, due),
        ("INV-PAID", "paid", "450.00", "450.00", issued, due),
        ("INV-VOID", "void", "650.00", "0", issued, due),
    ]
    ids = _invoices(engine, team.id, rows)
    pays = {
        number: _payment(engine, team.id, amount, number, day) for number, _, amount, *_ in rows
    }
    snapshot_unmatched(engine, issued)
    with engine.connect() as conn:
        queued = set(
            conn.scalars(sa.select(UnmatchedRecord.record_id).where(
                UnmatchedRecord.record_kind == "invoice"))
        )  # fmt: skip
    assert queued == {ids["INV-OPEN"], ids["INV-PART"]}

    reconcile(engine, issued, day)

    with engine.connect() as conn:
        links = set(
            conn.execute(
                sa.select(Match.record_id, Match.transaction_id, Match.decision).where(
                    Match.record_kind == "invoice"
                )
            ).all()
        )
        status = dict(conn.execute(sa.select(Invoice.number, Invoice.status)).all())
    assert links == {
        (ids["INV-OPEN"], pays["INV-OPEN"], "link"),
        (ids["INV-PART"], pays["INV-PART"], "link"),
    }
    assert status == {"INV-OPEN": "paid", "INV-PART": "paid", "INV-PAID": "paid",
                      "INV-VOID": "void"}  # fmt: skip


def test_the_offline_insight_is_the_five_most_newsworthy_facts_and_validates(
    engine: Engine,
) -> None:
    """Offline (SIMULATED) insights are the model's path, not the fallback: the top facts'
    sentences, 3 to 5 bullets, that pass the same validation as a model's text."""
    slug, zone = one_team_with_metrics(engine)
    result = generate_slot(engine, WEEK, slot_for(WEEK, zone), OfflineBackend(), team=slug)
    (generated,) = result.generated
    assert (generated.path, generated.model, generated.problems) == ("offline", "offline", [])
    sentences = [fact["sentence"] for fact in generated.facts["facts"]]
    assert len(sentences) > MAX_BULLETS  # more facts than bullets: the cap decides
    bullets = generated.content.split("\n")
    assert bullets == [f"- {s}" for s in sentences[:MAX_BULLETS]]
    assert len(bullets) == 5 and MIN_BULLETS == 3
    assert len(generated.content.split()) < MAX_WORDS


def _facts_message(sentences: list[str]) -> Message:
    facts = {"facts": [{"key": f"f{i}", "sentence": s} for i, s in enumerate(sentences)]}
    return {"role": "user", "content": f'<data name="facts">{json.dumps(facts)}</data>'}


def test_the_offline_insight_keeps_at_least_three_bullets_under_the_word_budget() -> None:
    """Long sentences: bullets stop before the text reaches the word budget, but never below
    three; short ones: five at most, however many facts there are."""
    long = [" ".join(f"word{i}x{k}" for k in range(60)) for i in range(6)]
    text = offline_insights([_facts_message(long)], [], None).content or ""
    assert text.count("\n") + 1 == MIN_BULLETS
    assert len(text.split()) - MIN_BULLETS < MAX_WORDS  # the "-" markers are not words
    short = [f"Fact number {i} is short." for i in range(9)]
    text = offline_insights([_facts_message(short)], [], None).content or ""
    assert text.split("\n") == [f"- {s}" for s in short[:MAX_BULLETS]]
