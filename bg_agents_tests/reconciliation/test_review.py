"""A person's review, end to end through the database (SQLite and PostgreSQL): confirming and
declining pairs, what that does to invoices and the unmatched queue, what later reconciliation
learns from it, and the errors a wrong request gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs.reconciliation.review import (
    ReviewError,
    UnknownDecision,
    UnknownPair,
    UnknownTeam,
    decide,
    decide_all,
    open_items,
)
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.lib.db.models import Customer, Invoice, Match, UnmatchedRecord
from bg_agents_tests.helpers import dump
from bg_agents_tests.reconciliation.test_feedback_end_to_end import (
    DAY,
    add_payment,
    add_receipt,
    add_team,
)

DUE = DAY + timedelta(4)
BEFORE_DUE = datetime(DUE.year, DUE.month, DUE.day, 12, tzinfo=UTC) - timedelta(days=2)
AFTER_DUE = BEFORE_DUE + timedelta(days=10)


def before_due() -> datetime:
    return BEFORE_DUE


def after_due() -> datetime:
    return AFTER_DUE


def add_invoice(engine: Engine, team_id: int, number: str, amount: str, customer: str) -> int:
    """An invoice issued ten days before DAY, due four days after it."""
    with Session(engine) as session, session.begin():
        cust = Customer(team_id=team_id, external_id=f"c-{number}", name=customer)
        session.add(cust)
        session.flush()
        inv = Invoice(
            team_id=team_id,
            customer_id=cust.id,
            number=number,
            amount=Decimal(amount),
            currency="EUR",
            issue_date=DAY - timedelta(10),
            due_date=DUE,
        )
        session.add(inv)
        session.flush()
        return inv.id


def reconcile_all(engine: Engine) -> None:
    reconcile(engine, DAY - timedelta(10), DAY + timedelta(5))


def pairs(engine: Engine, team_id: int) -> dict[tuple[str, int, int], tuple[int, str, str]]:
    """(record kind, record, bank row) -> (match id, decision, status) of every stored pair."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                Match.record_kind, Match.record_id, Match.transaction_id, Match.id,
                Match.decision, Match.status,
            ).where(Match.team_id == team_id)
        ).all()  # fmt: skip
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}


def invoice(engine: Engine, invoice_id: int) -> tuple[str, Decimal, object]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(
                sa.select(Invoice.status, Invoice.amount_paid, Invoice.paid_date).where(
                    Invoice.id == invoice_id
                )
            ).one()
        )


def queued(engine: Engine, team_id: int) -> set[tuple[str, int]]:
    with engine.connect() as conn:
        return {
            (kind, id_)
            for kind, id_ in conn.execute(
                sa.select(UnmatchedRecord.record_kind, UnmatchedRecord.record_id).where(
                    UnmatchedRecord.team_id == team_id
                )
            )
        }


@pytest.fixture
def tie(engine: Engine) -> dict[str, int]:
    return stage_tie(engine)


def stage_tie(engine: Engine) -> dict[str, int]:
    """Team ``acme``, reconciled: an invoice two equal payments could pay (a tie left to a
    person), an invoice the matcher links at once, and a receipt whose bank label names a
    stranger (a suggestion). Returns the rows' ids by role."""
    team = add_team(engine, "acme")
    ids = {
        "team": team,
        "invoice": add_invoice(engine, team, "INV-7", "500.00", "Initech"),
        "first": add_payment(engine, team, "500.00", "INITECH", DAY),
        "second": add_payment(engine, team, "500.00", "INITECH", DAY + timedelta(1)),
        "linked_invoice": add_invoice(engine, team, "INV-8", "420.00", "Umbrella"),
        "linked_payment": add_payment(engine, team, "420.00", "UMBRELLA CORP", DAY),
        "receipt": add_receipt(engine, team, "99.00", "Globex Corporation"),
        "card": add_payment(engine, team, "-99.00", "GBX SERVICES 2231"),
    }
    reconcile_all(engine)
    return ids


def test_the_list_groups_a_records_options_best_first_with_their_evidence(
    engine: Engine, tie: dict[str, int]
) -> None:
    items = open_items(engine, "acme", now=before_due)
    assert [(i.record.kind, i.bank.id, i.options) for i in items] == [
        ("invoice", tie["first"], 2),
        ("invoice", tie["second"], 2),
        ("document", tie["card"], 1),
    ]
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)
    first = items[0]
    assert first.status == "pending" and first.decision == "suggestion"
    assert (first.record.number, first.record.name, first.record.state) == (
        "INV-7",
        "Initech",
        "open",
    )
    assert first.record.amount == Decimal("500.00") and first.bank.counterparty == "INITECH"
    assert "tie" in first.evidence and "please choose" in first.evidence
    assert items[2].record.name == "Globex Corporation" and "names differ" in items[2].evidence
    as_json = items[0].as_dict()
    assert as_json["record"]["amount"].startswith("500.00") and as_json["bank"]["date"] == str(DAY)

    with_links = open_items(engine, "acme", include_links=True, now=before_due)
    (auto,) = [i for i in with_links if i.status == "auto"]
    assert (auto.record.id, auto.bank.id, auto.record.state) == (
        tie["linked_invoice"],
        tie["linked_payment"],
        "paid",
    )
    assert len(with_links) == len(items) + 1


def test_confirming_one_option_links_it_pays_the_invoice_and_drops_the_other(
    engine: Engine, tie: dict[str, int]
) -> None:
    team, inv = tie["team"], tie["invoice"]
    chosen = pairs(engine, team)[("invoice", inv, tie["second"])][0]
    assert ("invoice", inv) in queued(engine, team)

    outcome = decide(engine, "acme", chosen, "confirm", now=before_due)

    assert (outcome.status_before, outcome.status, outcome.changed) == (
        "pending",
        "confirmed",
        True,
    )
    assert outcome.invoice_state == "paid"
    stored = {k: v for k, v in pairs(engine, team).items() if k[:2] == ("invoice", inv)}
    assert stored == {("invoice", inv, tie["second"]): (chosen, "link", "confirmed")}
    assert invoice(engine, inv) == ("paid", Decimal("500.00"), DAY + timedelta(1))
    assert ("invoice", inv) not in queued(engine, team)
    assert ("payment", tie["second"]) not in queued(engine, team)
    assert ("payment", tie["first"]) in queued(engine, team)  # it paid nothing after all
    assert chosen not in {i.match_id for i in open_items(engine, "acme", include_links=True)}

    before = dump(engine)
    again = decide(engine, "acme", chosen, "confirm", now=before_due)
    assert not again.changed and again.status == "confirmed"
    assert dump(engine) == before  # idempotent: nothing at all changed
    reconcile_all(engine)
    assert dump(engine) == before


def test_declining_an_automatic_link_reopens_the_invoice_for_good(
    engine: Engine, tie: dict[str, int]
) -> None:
    """Past its due day, the invoice is overdue again (stored as owed, ``open``: overdue is read
    from the due date); the declined pair is never proposed again, by any later run."""
    team, inv, tx = tie["team"], tie["linked_invoice"], tie["linked_payment"]
    link = pairs(engine, team)[("invoice", inv, tx)]
    assert link[1:] == ("link", "auto")
    assert invoice(engine, inv)[0] == "paid"

    outcome = decide(engine, "acme", link[0], "decline", now=after_due)

    assert (outcome.status_before, outcome.status, outcome.invoice_state) == (
        "auto",
        "declined",
        "overdue",
    )
    assert invoice(engine, inv) == ("open", Decimal(0), None)
    assert {("invoice", inv), ("payment", tx)} <= queued(engine, team)
    reconcile_all(engine)
    reconcile_all(engine)
    assert pairs(engine, team)[("invoice", inv, tx)] == (link[0], "link", "declined")
    assert not [k for k, v in pairs(engine, team).items() if k[1] == inv and v[2] != "declined"]
    assert invoice(engine, inv)[0] == "open"
    listed = open_items(engine, "acme", include_links=True, now=before_due)
    assert link[0] not in {i.match_id for i in listed}
    assert {i.record.state for i in listed if i.record.id == inv} <= {"open"}


def test_a_person_may_correct_themselves(engine: Engine, tie: dict[str, int]) -> None:
    """Confirm, then decline: owed again; decline, then confirm: paid again."""
    team, inv = tie["team"], tie["invoice"]
    chosen = pairs(engine, team)[("invoice", inv, tie["first"])][0]

    decide(engine, "acme", chosen, "confirm", now=before_due)
    assert invoice(engine, inv) == ("paid", Decimal("500.00"), DAY)
    undone = decide(engine, "acme", chosen, "decline", now=before_due)
    assert (undone.status_before, undone.status, undone.invoice_state) == (
        "confirmed",
        "declined",
        "open",
    )
    assert invoice(engine, inv) == ("open", Decimal(0), None)
    # Matched again without the declined row, the other payment is only suggested: a person said
    # these two names differ, so they are never linked automatically.
    other = pairs(engine, team)[("invoice", inv, tie["second"])]
    assert other[1:] == ("suggestion", "pending")

    redone = decide(engine, "acme", chosen, "confirm", now=before_due)
    assert (redone.status_before, redone.status, redone.invoice_state) == (
        "declined",
        "confirmed",
        "paid",
    )
    assert pairs(engine, team)[("invoice", inv, tie["first"])][1:] == ("link", "confirmed")
    assert ("invoice", inv, tie["second"]) not in pairs(engine, team)
    assert invoice(engine, inv) == ("paid", Decimal("500.00"), DAY)


def test_an_invoice_another_link_still_pays_stays_paid(engine: Engine, tie: dict[str, int]) -> None:
    """Both options confirmed at once (two payments of one invoice), then the later one declined:
    the invoice stays paid, now on the day of the payment that still pays it."""
    team, inv = tie["team"], tie["invoice"]
    stored = pairs(engine, team)
    first = stored[("invoice", inv, tie["first"])][0]
    second = stored[("invoice", inv, tie["second"])][0]
    decide_all(engine, "acme", {first: "confirm", second: "confirm"}, now=before_due)
    assert invoice(engine, inv) == ("paid", Decimal("500.00"), DAY + timedelta(1))

    outcome = decide(engine, "acme", second, "decline", now=after_due)
    assert outcome.invoice_state == "paid"
    assert invoice(engine, inv) == ("paid", Decimal("500.00"), DAY)


def test_a_confirmed_alias_makes_the_next_such_pair_agree_on_names(
    engine: Engine, tie: dict[str, int]
) -> None:
    """The receipt and card row were only suggested (the bank label names nobody known); once a
    person confirms them, the next equal payment to that label is linked at once."""
    team = tie["team"]
    suggestion = pairs(engine, team)[("document", tie["receipt"], tie["card"])]
    assert suggestion[1:] == ("suggestion", "pending")
    decide(engine, "acme", suggestion[0], "confirm", now=before_due)

    doc = add_receipt(engine, team, "310.00", "Globex Corporation", DAY + timedelta(2))
    card = add_payment(engine, team, "-310.00", "GBX SERVICES 2231", DAY + timedelta(2))
    reconcile_all(engine)
    assert pairs(engine, team)[("document", doc, card)][1:] == ("link", "auto")


def test_several_decisions_are_carried_out_together(engine: Engine, tie: dict[str, int]) -> None:
    team = tie["team"]
    stored = pairs(engine, team)
    a = stored[("invoice", tie["invoice"], tie["first"])][0]
    b = stored[("document", tie["receipt"], tie["card"])][0]
    outcomes = decide_all(engine, "acme", {a: "decline", b: "confirm"}, now=before_due)
    assert [(o.match_id, o.status) for o in outcomes] == [(a, "declined"), (b, "confirmed")]


def test_wrong_requests_are_refused_with_what_to_do_and_change_nothing(
    engine: Engine, tie: dict[str, int]
) -> None:
    other = add_team(engine, "other")
    theirs = add_receipt(engine, other, "12.00", "Initrode")
    add_payment(engine, other, "-12.00", "INITRODE")
    reconcile_all(engine)
    (their_pair,) = [v[0] for k, v in pairs(engine, other).items() if k[1] == theirs]
    ours = pairs(engine, tie["team"])[("invoice", tie["invoice"], tie["first"])][0]
    before = dump(engine)

    with pytest.raises(UnknownPair, match="bg-agents review --team acme --all"):
        decide(engine, "acme", their_pair, "confirm")
    with pytest.raises(UnknownPair, match="no pair with id 999999"):
        decide(engine, "acme", 999_999, "decline")
    with pytest.raises(UnknownPair):  # one bad id: none of the decisions is stored
        decide_all(engine, "acme", {ours: "confirm", 999_999: "confirm"})
    with pytest.raises(UnknownTeam, match="bg-agents teams"):
        decide(engine, "nobody", ours, "confirm")
    with pytest.raises(UnknownTeam):
        open_items(engine, "nobody")
    with pytest.raises(UnknownDecision, match="confirm or decline"):
        decide(engine, "acme", ours, "accept")  # type: ignore[arg-type]
    assert issubclass(ReviewError, ValueError)
    assert dump(engine) == before


def test_a_pair_replaced_by_a_later_run_is_refused(engine: Engine, tie: dict[str, int]) -> None:
    """Confirming one option removes the other: deciding the removed one says to list again."""
    stored = pairs(engine, tie["team"])
    first = stored[("invoice", tie["invoice"], tie["first"])][0]
    second = stored[("invoice", tie["invoice"], tie["second"])][0]
    decide(engine, "acme", first, "confirm", now=before_due)
    with pytest.raises(UnknownPair, match="later reconciliation may have replaced it"):
        decide(engine, "acme", second, "confirm", now=before_due)
