"""Decisions a person stored in the ``matches`` table teach the real reconciliation service, end
to end on SQLite and PostgreSQL: a confirmed pair's bank label links that party's next payment,
a declined pair is never proposed again and its two names are never auto-linked again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.lib.db.models import Document, Match, NotificationEvent, Team, Transaction, User
from bg_agents_tests.helpers import WORLD_END, seed

DAY = WORLD_END - timedelta(days=3)


def add_team(engine: Engine, slug: str) -> int:
    with Session(engine) as session, session.begin():
        team = Team(slug=slug, name=slug.title(), time_zone="UTC", base_currency="EUR")
        session.add(team)
        session.flush()
        session.add(User(team_id=team.id, email=f"ann@{slug}.example", name="Ann"))
        return team.id


def add_receipt(engine: Engine, team_id: int, amount: str, vendor: str, day: date = DAY) -> int:
    with Session(engine) as session, session.begin():
        doc = Document(
            team_id=team_id,
            external_id=f"r-{vendor}-{amount}-{day}",
            vendor=vendor,
            amount=Decimal(amount),
            currency="EUR",
            base_amount=Decimal(amount),
            document_date=day,
            file_name="receipt.pdf",
        )
        session.add(doc)
        session.flush()
        return doc.id


def add_payment(engine: Engine, team_id: int, amount: str, label: str, day: date = DAY) -> int:
    with Session(engine) as session, session.begin():
        tx = Transaction(
            team_id=team_id,
            source="bank",
            external_id=f"t-{label}-{amount}-{day}",
            booking_date=day,
            amount=Decimal(amount),
            currency="EUR",
            base_amount=Decimal(amount),
            description=f"CARD PURCHASE {label}",
            counterparty=label,
        )
        session.add(tx)
        session.flush()
        return tx.id


def person_decides(engine: Engine, team_id: int, doc: int, tx: int, status: str) -> None:
    """What the review screen stores: the pair, marked confirmed or declined by a person."""
    with Session(engine) as session, session.begin():
        session.add(
            Match(
                team_id=team_id,
                record_kind="document",
                record_id=doc,
                transaction_id=tx,
                decision="link",
                status=status,
                score=0.7,
                explanation="decided by a person",
            )
        )


def stored(engine: Engine, team_id: int) -> dict[tuple[int, int], tuple[str, str, str]]:
    """(receipt, bank row) -> (decision, status, explanation) of every stored pair."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                Match.record_id, Match.transaction_id, Match.decision, Match.status,
                Match.explanation,
            ).where(Match.team_id == team_id, Match.record_kind == "document")
        ).all()  # fmt: skip
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def test_a_confirmed_bank_label_links_the_partys_next_payment(engine: Engine) -> None:
    """Without the confirmation the label is a stranger's name (a suggestion, as for the other
    team); with it, the next equal payment is linked at once and the team is told."""
    seed(engine, teams=1, weeks=1)  # a real team's data beside ours: feedback stays per team
    taught, other = add_team(engine, "taught"), add_team(engine, "other")
    earlier_doc = add_receipt(engine, taught, "99.00", "Globex Corporation", DAY - timedelta(30))
    earlier_tx = add_payment(engine, taught, "-99.00", "GBX SERVICES 2231", DAY - timedelta(30))
    person_decides(engine, taught, earlier_doc, earlier_tx, "confirmed")
    pairs = {
        team: (
            add_receipt(engine, team, "310.00", "Globex Corporation"),
            add_payment(engine, team, "-310.00", "GBX SERVICES 2231"),
        )
        for team in (taught, other)
    }

    report = reconcile(engine, DAY, DAY)

    decision, status, why = stored(engine, taught)[pairs[taught]]
    assert (decision, status) == ("link", "auto")
    assert "confirmed earlier" in why
    assert stored(engine, taught)[(earlier_doc, earlier_tx)][:2] == ("link", "confirmed")
    assert stored(engine, other)[pairs[other]][:2] == ("suggestion", "pending")
    with engine.connect() as conn:
        told = conn.scalars(sa.select(NotificationEvent.team_id)).all()
    assert taught in told and other not in told
    assert report.notified >= 1


def test_a_declined_pair_is_never_proposed_again_and_its_names_never_auto_link(
    engine: Engine,
) -> None:
    """The receipt is offered its next-best bank row instead, and a new receipt between the same
    two names is only suggested, with the reason; a second run changes nothing."""
    seed(engine, teams=1, weeks=1)
    team = add_team(engine, "acme")
    doc = add_receipt(engine, team, "77.70", "Zyzzyva Supplies")
    refused = add_payment(engine, team, "-77.70", "ZYZZYVA SUPPLIES")
    later = add_payment(engine, team, "-77.70", "ZYZZYVA SUPPLIES", DAY + timedelta(5))
    person_decides(engine, team, doc, refused, "declined")
    new_doc = add_receipt(engine, team, "55.00", "Zyzzyva Supplies", DAY + timedelta(1))
    new_tx = add_payment(engine, team, "-55.00", "ZYZZYVA SUPPLIES", DAY + timedelta(1))

    reconcile(engine, DAY - timedelta(1), DAY + timedelta(6))

    pairs = stored(engine, team)
    assert pairs[(doc, refused)][:2] == ("link", "declined")
    assert pairs.get((doc, later), ("not proposed",))[:2] == ("suggestion", "pending")
    assert pairs[(new_doc, new_tx)][:2] == ("suggestion", "pending")
    assert "declined a pair with these names" in pairs[(new_doc, new_tx)][2]
    assert not [p for p, (d, _, _) in pairs.items() if d == "link" and p != (doc, refused)]

    again = reconcile(engine, DAY - timedelta(1), DAY + timedelta(6))
    assert (again.written, again.notified) == (0, 0)
    assert stored(engine, team) == pairs


def test_confirmations_and_declines_of_one_team_teach_together(engine: Engine) -> None:
    """Both kinds of decision stored side by side are read in one run: the alias links, the
    declined names do not."""
    team = add_team(engine, "acme")
    old = add_receipt(engine, team, "12.00", "Globex Corporation", DAY - timedelta(40))
    old_tx = add_payment(engine, team, "-12.00", "GBX SERVICES 2231", DAY - timedelta(40))
    person_decides(engine, team, old, old_tx, "confirmed")
    bad = add_receipt(engine, team, "8.00", "Apple Store", DAY - timedelta(20))
    bad_tx = add_payment(engine, team, "-8.00", "APPLE STORE", DAY - timedelta(20))
    person_decides(engine, team, bad, bad_tx, "declined")
    alias_pair = (
        add_receipt(engine, team, "310.00", "Globex Corporation"),
        add_payment(engine, team, "-310.00", "GBX SERVICES 2231"),
    )
    apple_pair = (
        add_receipt(engine, team, "19.99", "Apple Store"),
        add_payment(engine, team, "-19.99", "APPLE STORE"),
    )

    reconcile(engine, DAY, DAY)

    pairs = stored(engine, team)
    assert pairs[alias_pair][:2] == ("link", "auto")
    assert pairs[apple_pair][:2] == ("suggestion", "pending")
