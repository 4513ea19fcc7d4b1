"""A person's review of reconciliation: what waits for a decision, and the decision itself.

The matcher only proposes (suggestions, automatic links); a person confirms or declines, and
reconciliation takes those decisions as given (see service.py). A decision is stored on the
pair's own ``matches`` row, and the team is then reconciled again, so proposals that conflict
with it disappear, a confirmed pair teaches its names as aliases and a declined pair is never
proposed again. Invoices follow their links: one a link pays is paid, one whose last paying link
was declined is owed again. Deciding is idempotent, and a later opposite decision (a person
correcting themselves) is one more decision, carried out the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs.reconciliation.matcher import profile as matcher_profile
from bg_agents.defs.reconciliation.model_store import MATCHING_PROFILE, matching_for
from bg_agents.defs.reconciliation.service import (
    reconcile,
    refresh_unmatched,
    settle_invoices,
)
from bg_agents.defs.reconciliation.unmatched import active_link
from bg_agents.lib import clock
from bg_agents.lib.db.models import (
    OPEN_INVOICE,
    Customer,
    Document,
    Invoice,
    Match,
    Team,
    Transaction,
)

Decision = Literal["confirm", "decline"]
STATUS_OF: dict[str, str] = {"confirm": "confirmed", "decline": "declined"}
OPEN_STATUSES = ("pending",)  # what waits for a person
LINK_STATUSES = ("auto",)  # what a person may still overrule


class ReviewError(ValueError):
    """A review request that cannot be carried out; the message says what to do instead."""


class UnknownTeam(ReviewError):
    pass


class UnknownPair(ReviewError):
    pass


class UnknownDecision(ReviewError):
    pass


@dataclass(frozen=True)
class RecordView:
    """The record side of a pair: a receipt (``document``) or an invoice."""

    kind: str
    id: int
    date: date
    amount: Decimal
    currency: str
    name: str  # the receipt's vendor, the invoice's customer
    number: str | None = None  # invoices only
    due_date: date | None = None
    state: str | None = None  # invoices only: open, overdue (by the clock), paid, ...


@dataclass(frozen=True)
class BankView:
    id: int
    date: date
    amount: Decimal
    currency: str
    counterparty: str
    text: str


@dataclass(frozen=True)
class ReviewItem:
    """One pair waiting for (or open to) a person's decision, with the matcher's evidence."""

    match_id: int
    decision: str  # suggestion | link
    status: str  # pending | auto
    score: float
    evidence: str
    matched_amount: Decimal | None
    record: RecordView
    bank: BankView
    options: int  # how many pairs of this list offer the same record

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class Outcome:
    """What one decision did: ``changed`` is False when the pair already had that status."""

    match_id: int
    decision: str
    status_before: str
    status: str
    changed: bool
    record_kind: str
    record_id: int
    transaction_id: int
    invoice_state: str | None  # after the decision: paid, open, overdue (None for receipts)

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    """JSON-ready: exact amounts as strings, dates as ISO text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _team(session: Session, slug: str) -> Team:
    team = session.scalar(sa.select(Team).where(Team.slug == slug))
    if team is None:
        raise UnknownTeam(f"unknown team {slug!r}; `bg-agents teams` lists them")
    return team


def team_today(team: Team, now: Callable[[], datetime] | None = None) -> date:
    """The team's calendar day at the clock's instant: an invoice is overdue after its due day
    there, not in UTC."""
    instant = (now or clock.now)()
    try:
        return instant.astimezone(ZoneInfo(team.time_zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return instant.date()


def invoice_state(status: str, due_date: date, today: date) -> str:
    """``overdue`` is not stored: it is an owed invoice whose due day has passed."""
    return "overdue" if status in OPEN_INVOICE and due_date < today else status


def open_items(
    engine: Engine,
    team: str,
    include_links: bool = False,
    *,
    now: Callable[[], datetime] | None = None,
) -> list[ReviewItem]:
    """The team's suggestions (and with ``include_links`` its automatic links, so a wrong one
    can be declined), best first; the options of one record stay together, ranked by score."""
    statuses = OPEN_STATUSES + (LINK_STATUSES if include_links else ())
    with Session(engine) as session:
        team_row = _team(session, team)
        today = team_today(team_row, now)
        rows = session.execute(
            sa.select(Match, Transaction, Document, Invoice, Customer)
            .join(Transaction, Transaction.id == Match.transaction_id)
            .outerjoin(
                Document, (Match.record_kind == "document") & (Document.id == Match.record_id)
            )
            .outerjoin(Invoice, (Match.record_kind == "invoice") & (Invoice.id == Match.record_id))
            .outerjoin(Customer, Customer.id == Invoice.customer_id)
            .where(Match.team_id == team_row.id, Match.status.in_(statuses))
        ).all()
    found: list[tuple[Match, RecordView, BankView]] = []
    for match, tx, doc, inv, customer in rows:
        record = _record_view(doc, inv, customer, today)
        if record is not None:
            found.append((match, record, _bank_view(tx)))
    groups: dict[tuple[str, int], list[tuple[Match, RecordView, BankView]]] = {}
    for entry in found:
        groups.setdefault((entry[1].kind, entry[1].id), []).append(entry)
    for options in groups.values():
        options.sort(key=lambda e: (-e[0].score, e[0].id))
    ranked = sorted(
        groups.values(), key=lambda g: (-g[0][0].score, g[0][1].date, g[0][1].kind, g[0][1].id)
    )
    return [
        ReviewItem(
            match_id=m.id,
            decision=m.decision,
            status=m.status,
            score=round(m.score, 4),
            evidence=m.explanation,
            matched_amount=m.matched_amount,
            record=record,
            bank=bank,
            options=len(options),
        )
        for options in ranked
        for m, record, bank in options
    ]


def _record_view(
    doc: Document | None, inv: Invoice | None, customer: Customer | None, today: date
) -> RecordView | None:
    if doc is not None:
        return RecordView(
            "document", doc.id, doc.document_date, doc.amount, doc.currency, doc.vendor
        )
    if inv is None:
        return None  # the record is gone: nothing a person could check
    name = (customer.company or customer.name) if customer else ""
    return RecordView(
        "invoice",
        inv.id,
        inv.issue_date,
        inv.amount,
        inv.currency,
        name,
        number=inv.number,
        due_date=inv.due_date,
        state=invoice_state(inv.status, inv.due_date, today),
    )


def _bank_view(tx: Transaction) -> BankView:
    return BankView(
        tx.id,
        tx.booking_date,
        tx.amount,
        tx.currency,
        tx.counterparty or tx.merchant or "",
        tx.description or tx.reference or "",
    )


def decide(
    engine: Engine,
    team: str,
    match_id: int,
    decision: Decision,
    *,
    now: Callable[[], datetime] | None = None,
    profile: str = MATCHING_PROFILE,
) -> Outcome:
    """Confirm or decline one pair of the team; see ``decide_all``."""
    return decide_all(engine, team, {match_id: decision}, now=now, profile=profile)[0]


def decide_all(
    engine: Engine,
    team: str,
    decisions: Mapping[int, Decision],
    *,
    now: Callable[[], datetime] | None = None,
    profile: str = MATCHING_PROFILE,
) -> list[Outcome]:
    """Store the decisions together (all or none), then reconcile the team once.

    Together, because one record's partial payments or one payment's combined records are
    several pairs: confirming them one by one would let the first confirmation take the bank row
    (or record) out of matching, and remove the other pairs before they could be confirmed.
    ``now`` is the clock that tells an owed invoice from an overdue one. The team is reconciled
    with ``profile`` as scheduled matching does it (the learned one with the stored model, the
    seed's rules before one is stored), so a decision never brings another matcher's answer.
    """
    matcher_profile(profile)  # an unknown profile is refused before anything is stored
    for match_id, decision in decisions.items():
        if decision not in STATUS_OF:
            raise UnknownDecision(
                f"unknown decision {decision!r} for match {match_id}: use confirm or decline"
            )
    with Session(engine) as session, session.begin():
        team_row = _team(session, team)
        team_id, slug, today = team_row.id, team_row.slug, team_today(team_row, now)
        pairs = {
            m.id: m
            for m in session.scalars(
                sa.select(Match)
                .where(Match.team_id == team_id, Match.id.in_(list(decisions)))
                .with_for_update()
            )
        }
        missing = sorted(set(decisions) - pairs.keys())
        if missing:
            ids = ", ".join(map(str, missing))
            raise UnknownPair(
                f"team {slug!r} has no pair with id {ids} (a later reconciliation may have "
                f"replaced it); `bg-agents review --team {slug} --all` lists the current ones"
            )
        # (status, whether the pair was an active link) before this decision
        before = {
            i: (m.status, m.decision == "link" and m.status != "declined") for i, m in pairs.items()
        }
        changes = {i: STATUS_OF[d] for i, d in decisions.items() if pairs[i].status != STATUS_OF[d]}
        keys = {i: (m.record_kind, m.record_id, m.transaction_id) for i, m in pairs.items()}
        session.expunge_all()
        for i, status in changes.items():
            values: dict[str, Any] = {"status": status}
            if status == "confirmed":
                values["decision"] = "link"
            session.execute(sa.update(Match).where(Match.id == i).values(**values))
        confirmed = [keys[i] for i, s in changes.items() if s == "confirmed"]
        settle_invoices(session, confirmed)
        unlinked = {
            keys[i][1]
            for i, s in changes.items()
            if s == "declined" and keys[i][0] == "invoice" and before[i][1]
        }
        _reopen_invoices(session, team_id, sorted(unlinked))
    # Even when nothing changed: reconciling is idempotent, and it completes an earlier decision
    # whose reconciliation was interrupted.
    matching = matching_for(engine, profile)
    reconcile(engine, today, today, only_teams=[team_id], config=matching.config,
              model=matching.model)  # fmt: skip
    refresh_unmatched(engine, team_id, today)
    return _outcomes(engine, decisions, before, keys, today)


def _reopen_invoices(session: Session, team_id: int, invoice_ids: list[int]) -> None:
    """Invoices that lost a paying link: owed again, unless another link still pays them.

    Owed again means ``open`` with nothing paid: settlement recorded the whole amount as paid,
    so what was paid before the link is not known any more. ``overdue`` is read from the due
    date, never stored. Only invoices a link had settled (``paid``) are touched.
    """
    if not invoice_ids:
        return
    still_paid = sa.exists().where(
        Match.team_id == team_id,
        Match.record_kind == "invoice",
        Match.record_id == Invoice.id,
        active_link(),
    )
    session.execute(
        sa.update(Invoice)
        .where(Invoice.id.in_(invoice_ids), Invoice.status == "paid", ~still_paid)
        .values(status="open", amount_paid=Decimal(0), paid_date=None)
    )
    paid_on = (
        sa.select(sa.func.max(Transaction.booking_date))
        .join(Match, Match.transaction_id == Transaction.id)
        .where(Match.record_kind == "invoice", Match.record_id == Invoice.id, active_link())
        .scalar_subquery()
    )
    session.execute(  # still paid by another link: paid on that link's day
        sa.update(Invoice)
        .where(Invoice.id.in_(invoice_ids), Invoice.status == "paid", still_paid)
        .values(paid_date=paid_on)
    )


def _outcomes(
    engine: Engine,
    decisions: Mapping[int, Decision],
    before: Mapping[int, tuple[str, bool]],
    keys: Mapping[int, tuple[str, int, int]],
    today: date,
) -> list[Outcome]:
    invoice_ids = [k[1] for k in keys.values() if k[0] == "invoice"]
    with engine.connect() as conn:
        invoices = {
            i: invoice_state(status, due, today)
            for i, status, due in conn.execute(
                sa.select(Invoice.id, Invoice.status, Invoice.due_date).where(
                    Invoice.id.in_(invoice_ids)
                )
            )
        }
    out = []
    for i, decision in decisions.items():
        kind, record_id, tx_id = keys[i]
        out.append(
            Outcome(
                match_id=i,
                decision=decision,
                status_before=before[i][0],
                status=STATUS_OF[decision],
                changed=before[i][0] != STATUS_OF[decision],
                record_kind=kind,
                record_id=record_id,
                transaction_id=tx_id,
                invoice_state=invoices.get(record_id) if kind == "invoice" else None,
            )
        )
    return out
