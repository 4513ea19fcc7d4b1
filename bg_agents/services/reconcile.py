"""Reconcile the records that new data touched: load, match, write links and suggestions, notify.

A day's run looks at the teams with unmatched records that day, and at what those records can
pair with: unlinked receipts from the last two date windows, open invoices whose payment may
still arrive, and the unlinked bank rows around them. Receipts pair with money going out,
invoices with money coming in (the matcher's groups keep them apart).

Writes are upserts keyed (team, record, transaction) that rewrite a row only when it changed, and
never touch a pair a person confirmed or declined: re-running a day changes nothing. Automatic
links notify the team at once through the outbox (keyed per link and user, so never twice);
suggestions wait for review.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from bg_agents.agents.backends import ChatBackend, OfflineBackend
from bg_agents.agents.ledger import Ledger
from bg_agents.agents.matching_tools import (
    MATCH_KEY,
    document_side,
    invoice_side,
    transaction_side,
)
from bg_agents.agents.tie_breaker import AGENT, model_tie_breaker
from bg_agents.db.models import (
    Customer,
    Document,
    Invoice,
    Match,
    SimulatedGroundTruth,
    Team,
    Transaction,
    UnmatchedRecord,
    User,
)
from bg_agents.db.upsert import upsert
from bg_agents.domain.match_rules import Side
from bg_agents.matching import DEFAULT_CONFIG, Feedback, MatcherConfig, Pair, match
from bg_agents.matching.types import TieBreaker
from bg_agents.notify.outbox import Message, deliver_in_app, enqueue
from bg_agents.services.unmatched import OPEN_INVOICE, active_link, linked

HUMAN = ("confirmed", "declined")
FEEDBACK_LIMIT = 5000  # the most recent human decisions per run teach aliases and refusals


@dataclass
class ReconcileReport:
    teams: int = 0
    records: int = 0
    candidates: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    relations: Counter[str] = field(default_factory=Counter)
    written: int = 0
    notified: int = 0
    ties: int = 0
    model_calls: int = 0
    model_links: int = 0
    truth_checked: int = 0  # auto links of SIMULATED teams, checked against the ground truth
    truth_correct: int = 0

    @property
    def precision(self) -> float | None:
        return self.truth_correct / self.truth_checked if self.truth_checked else None


def _group(team_id: int, direction: str) -> str:
    return f"{team_id}:{direction}"


def _team_of(side: Side) -> int:
    return int(side.group.partition(":")[0])


@dataclass
class _Scope:
    records: list[Side]
    candidates: list[Side]
    teams: dict[int, Team]


def _load(session: Session, start: date, end: date, cfg: MatcherConfig) -> _Scope:
    team_ids = session.scalars(
        sa.select(UnmatchedRecord.team_id)
        .where(UnmatchedRecord.record_date.between(start, end))
        .distinct()
    ).all()
    teams = {t.id: t for t in session.scalars(sa.select(Team).where(Team.id.in_(team_ids)))}
    window = 2 * cfg.rules.date_days
    docs = session.scalars(
        sa.select(Document).where(
            Document.team_id.in_(team_ids),
            Document.document_date.between(start - timedelta(window), end),
            ~linked("document", Document.id),
        )
    ).all()
    invoices = session.execute(
        sa.select(Invoice, Customer)
        .outerjoin(Customer, Customer.id == Invoice.customer_id)
        .where(
            Invoice.team_id.in_(team_ids),
            Invoice.status.in_(OPEN_INVOICE),
            Invoice.issue_date <= end,
            # Late payments are proposed up to late_days after the due date, and a payment
            # quoting the invoice's number up to reference_days.
            Invoice.due_date >= start - timedelta(window + max(cfg.late_days, cfg.reference_days)),
            ~linked("invoice", Invoice.id),
        )
    ).all()
    records = [
        _in_group(document_side(d, teams[d.team_id].base_currency), d.team_id, "out") for d in docs
    ]
    records += [
        _in_group(invoice_side(inv, cust, teams[inv.team_id].base_currency), inv.team_id, "in")
        for inv, cust in invoices
    ]
    earliest = min((r.date for r in records), default=start) - timedelta(window)
    txs = session.scalars(
        sa.select(Transaction).where(
            Transaction.team_id.in_(team_ids),
            Transaction.booking_date.between(earliest, end + timedelta(window)),
            ~linked("payment", Transaction.id),
        )
    ).all()
    candidates = [
        _in_group(
            transaction_side(tx, teams[tx.team_id].base_currency),
            tx.team_id,
            "out" if tx.amount < 0 else "in",
        )  # fmt: skip
        for tx in txs
    ]
    return _Scope(records, candidates, teams)


def _in_group(side: Side, team_id: int, direction: str) -> Side:
    return replace(side, group=_group(team_id, direction))


def _by_id(session: Session, model: type, ids: list[int]) -> dict[int, Any]:
    return {row.id: row for row in session.scalars(sa.select(model).where(model.id.in_(ids)))}


def _feedback(session: Session, team_ids: Iterable[int]) -> Feedback:
    """Aliases from confirmed pairs, refusals from declined ones (the most recent first)."""
    rows = session.execute(
        sa.select(Match.record_kind, Match.record_id, Match.transaction_id, Match.status)
        .where(Match.team_id.in_(list(team_ids)), Match.status.in_(HUMAN))
        .order_by(Match.updated_at.desc())
        .limit(FEEDBACK_LIMIT)
    ).all()
    if not rows:
        return Feedback()
    docs = _by_id(session, Document, [r.record_id for r in rows if r.record_kind == "document"])
    invoices = {
        inv.id: (inv, cust)
        for inv, cust in session.execute(
            sa.select(Invoice, Customer)
            .outerjoin(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.id.in_([r.record_id for r in rows if r.record_kind == "invoice"]))
        )
    }
    txs = _by_id(session, Transaction, [r.transaction_id for r in rows])
    feedback = Feedback()
    for r in rows:
        tx = txs.get(r.transaction_id)
        if r.record_kind == "document" and r.record_id in docs:
            record = document_side(docs[r.record_id], "")
        elif r.record_kind == "invoice" and r.record_id in invoices:
            record = invoice_side(*invoices[r.record_id], "")
        else:
            continue
        if tx is None:
            continue
        # Only names matter to feedback: no team currency is needed to build the sides.
        side = transaction_side(tx, "")
        (feedback.confirm if r.status == "confirmed" else feedback.decline)(record, side)
    return feedback


def _tie_breaker(
    engine: Engine, scope: _Scope, backend: ChatBackend | None, cfg: MatcherConfig, ledger: Ledger
) -> TieBreaker | None:
    """The model breaks ties only when a real one is configured; offline, ties go to people."""
    if backend is None or backend.name == OfflineBackend.name:
        return None
    per_team: dict[int, TieBreaker] = {}

    def choose(record: Side, options: list[tuple[Side, float]]) -> str | None:
        team = scope.teams[_team_of(record)]
        if team.id not in per_team:
            per_team[team.id] = model_tie_breaker(engine, team.id, team.name, backend,
                                                  cfg.rules, ledger)  # fmt: skip
        return per_team[team.id](record, options)

    return choose


def _match_row(pair: Pair, team_id: int) -> dict[str, object]:
    prefix, _, record_id = pair.left_id.partition("-")
    return {
        "team_id": team_id,
        "record_kind": "document" if prefix == "doc" else "invoice",
        "record_id": int(record_id),
        "transaction_id": int(pair.right_id.removeprefix("tx-")),
        "decision": "link" if pair.decision == "auto" else "suggestion",
        "status": "auto" if pair.decision == "auto" else "pending",
        "score": pair.score,
        "matched_amount": pair.matched_amount,
        "explanation": pair.explanation,
    }


UPDATED = ("decision", "status", "score", "matched_amount", "explanation")


def _write(session: Session, rows: list[dict[str, object]]) -> int:
    """Upsert pairs, leaving alone every pair a person already decided; returns rows changed."""
    if not rows:
        return 0
    teams = {r["team_id"] for r in rows}
    existing = {
        (m.record_kind, m.record_id, m.transaction_id): m
        for m in session.scalars(
            sa.select(Match).where(
                Match.team_id.in_(teams),
                Match.transaction_id.in_({r["transaction_id"] for r in rows}),
            )
        )
    }
    fresh = []
    for r in rows:
        old = existing.get((r["record_kind"], r["record_id"], r["transaction_id"]))
        if old is not None and old.status in HUMAN:
            continue
        if old is None or any(getattr(old, c) != r[c] for c in UPDATED):
            fresh.append(r)
    session.expunge_all()
    upsert(session, Match, fresh, MATCH_KEY, UPDATED)
    # A pending suggestion whose record or transaction is now linked elsewhere is stale.
    other = aliased(Match)
    session.execute(
        sa.delete(Match).where(
            Match.status == "pending",
            Match.team_id.in_(teams),
            sa.exists().where(
                other.id != Match.id,
                other.team_id == Match.team_id,
                active_link(other),
                sa.or_(
                    (other.record_kind == Match.record_kind) & (other.record_id == Match.record_id),
                    other.transaction_id == Match.transaction_id,
                ),
            ),
        )
    )
    return len(fresh)


def _settle_invoices(session: Session, links: list[dict[str, object]]) -> None:
    """An invoice linked to its payment is paid: insights stop counting it as owed or overdue."""
    ids = [r["record_id"] for r in links if r["record_kind"] == "invoice"]
    if ids:
        paid_on = (
            sa.select(sa.func.max(Transaction.booking_date))
            .join(Match, Match.transaction_id == Transaction.id)
            .where(
                Match.record_kind == "invoice",
                Match.record_id == Invoice.id,
                Match.decision == "link",
            )  # fmt: skip
            .scalar_subquery()
        )
        session.execute(
            sa.update(Invoice)
            .where(Invoice.id.in_(ids), Invoice.status.in_(OPEN_INVOICE))
            .values(status="paid", amount_paid=Invoice.amount, paid_date=paid_on)
        )


def _notify(session: Session, links: list[dict[str, object]], scope: _Scope) -> int:
    """One in-app message per automatic link and team member, delivered at once."""
    if not links:
        return 0
    users: dict[int, list[int]] = {}
    for team_id, user_id in session.execute(
        sa.select(User.team_id, User.id).where(User.team_id.in_({r["team_id"] for r in links}))
    ):
        users.setdefault(team_id, []).append(user_id)
    sides = {s.id: s for s in scope.records}
    messages = []
    for r in links:
        prefix = "doc" if r["record_kind"] == "document" else "inv"
        record = sides.get(f"{prefix}-{r['record_id']}")
        if record is None:
            title = "Receipt matched" if prefix == "doc" else "Invoice paid"
        elif prefix == "doc":
            title = f"Receipt matched: {record.name} {record.amount:f} {record.currency}"
        else:
            title = f"Invoice {record.reference} paid: {record.amount:f} {record.currency}"
        key = f"match:{r['record_kind']}:{r['record_id']}:{r['transaction_id']}"
        for user_id in users.get(int(r["team_id"]), []):  # type: ignore[arg-type]
            messages.append(
                Message(
                    idempotency_key=f"{key}:user:{user_id}",
                    team_id=int(r["team_id"]),  # type: ignore[arg-type]
                    user_id=user_id,
                    category="match.linked",
                    title=title[:200],
                    body=str(r["explanation"]),
                    payload={
                        "record": f"{prefix}-{r['record_id']}",
                        "transaction": f"tx-{r['transaction_id']}",
                    },  # fmt: skip
                )
            )
    new = enqueue(session.connection(), messages)
    deliver_in_app(session.connection())
    return new


def _check_truth(session: Session, links: list[dict[str, object]], report: ReconcileReport) -> None:
    """SIMULATED teams only: compare automatic links with the generator's ground truth.

    A receipt of a "duplicate" pair may take either of the two identical bank rows.
    """
    if not links:
        return
    teams = {r["team_id"] for r in links}
    truth = (
        session.execute(
            sa.select(SimulatedGroundTruth).where(SimulatedGroundTruth.team_id.in_(teams))
        )
        .scalars()
        .all()
    )
    if not truth:
        return
    txs = _by_id(session, Transaction, [int(r["transaction_id"]) for r in links])  # type: ignore[arg-type]
    docs = _by_id(
        session, Document, [r["record_id"] for r in links if r["record_kind"] == "document"]
    )
    invs = _by_id(
        session, Invoice, [r["record_id"] for r in links if r["record_kind"] == "invoice"]
    )
    doc_ext = {i: d.external_id for i, d in docs.items()}
    inv_ext = {i: v.number for i, v in invs.items()}
    true_refs: dict[tuple[int, str, str], set[str]] = {}
    for t in truth:
        true_refs.setdefault((t.team_id, t.record_kind, t.record_external_id), set()).add(
            t.transaction_ref
        )
    twins_by_ref = {}
    dup_refs = {t.transaction_ref for t in truth if t.case == "duplicate"}
    if dup_refs:
        for t in session.scalars(
            sa.select(Transaction).where(Transaction.external_id.in_(dup_refs))
        ):
            twins_by_ref[t.external_id] = (t.team_id, t.booking_date, t.amount, t.description)
    for r in links:
        ext = (doc_ext if r["record_kind"] == "document" else inv_ext).get(r["record_id"])
        tx = txs.get(int(r["transaction_id"]))  # type: ignore[arg-type]
        if ext is None or tx is None:
            continue
        refs = true_refs.get((r["team_id"], r["record_kind"], ext), set())
        report.truth_checked += 1
        sig = (tx.team_id, tx.booking_date, tx.amount, tx.description)
        if tx.external_id in refs or any(twins_by_ref.get(ref) == sig for ref in refs):
            report.truth_correct += 1


def reconcile(
    engine: Engine,
    start: date,
    end: date,
    *,
    config: MatcherConfig = DEFAULT_CONFIG,
    backend: ChatBackend | None = None,
    run_id: str | None = None,
    partition_key: str | None = None,
) -> ReconcileReport:
    """Match what days ``start``..``end`` touched; see the module docstring."""
    report = ReconcileReport()
    with Session(engine) as session:
        scope = _load(session, start, end, config)
        feedback = _feedback(session, scope.teams)
    report.teams, report.records = len(scope.teams), len(scope.records)
    report.candidates = len(scope.candidates)
    if not scope.records:
        return report
    ledger = Ledger(engine, AGENT, run_id=run_id, partition_key=partition_key)
    result = match(scope.records, scope.candidates, config, feedback=feedback,
                   tie_breaker=_tie_breaker(engine, scope, backend, config, ledger))  # fmt: skip
    team_of = {s.id: _team_of(s) for s in scope.records}
    rows = [_match_row(p, team_of[p.left_id]) for p in result.pairs]
    report.decisions.update(p.decision for p in result.pairs)
    report.relations.update(p.relation for p in result.pairs)
    report.ties = result.stats["ties"]
    report.model_links = result.stats["model_links"]
    report.model_calls = len(ledger.calls)
    links = [r for r in rows if r["decision"] == "link"]
    with Session(engine) as session, session.begin():
        report.written = _write(session, rows)
        _settle_invoices(session, links)
        report.notified = _notify(session, links, scope)
        _check_truth(session, links, report)
    return report
