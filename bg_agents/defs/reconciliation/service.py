"""Reconcile the teams that new data touched: load, match, write links and suggestions, notify.

What the matcher sees is a function of the data alone, never of which days a run covers: a run
matches, team by team, *all* of a team's receipts, invoices still owed (or settled by an
automatic link) and bank rows, in a fixed order. Automatic links are inputs like everything
else, so a second pass proposes exactly what the first stored, and a tie that was left to a
person stays one. Only people's decisions are taken as given: confirmed links take their record
and bank row out, declined pairs are refused. So one 7-day run, seven 1-day runs in any order
and a re-run all store the same rows. Receipts pair with money going out, invoices with money
coming in (the matcher's groups keep them apart). Under the learned engine the evidence model is
an input too: trained beforehand on every team (model_store.py), never fitted inside a run.

Writes make the stored pairs equal the matcher's answer: new or changed rows are upserted,
proposals it no longer makes are deleted, and pairs a person confirmed or declined are never
touched. An automatic link, once announced, is kept even if later data would make it a tie
(a person may decline it); proposals conflicting with it are dropped. Automatic links notify
the team at once through the outbox (keyed per link and user, so never twice); suggestions wait
for review. In the end the team's ``unmatched_records`` rows are made equal to its unlinked
records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs.notifications import Event, Words, notify
from bg_agents.defs.reconciliation.agent import AGENT, model_tie_breaker
from bg_agents.defs.reconciliation.matcher import (
    DEFAULT_CONFIG,
    Feedback,
    MatcherConfig,
    Pair,
    match,
)
from bg_agents.defs.reconciliation.matcher.evidence.model import EvidenceModel
from bg_agents.defs.reconciliation.matcher.rules import Side
from bg_agents.defs.reconciliation.matcher.types import TieBreaker
from bg_agents.defs.reconciliation.tools import (
    MATCH_KEY,
    LearnedGuard,
    document_side,
    invoice_side,
    transaction_side,
)
from bg_agents.defs.reconciliation.unmatched import (
    active_link,
    snapshot_unmatched,
    unlinked_records,
)
from bg_agents.lib.agents.backends import ChatBackend, OfflineBackend
from bg_agents.lib.agents.ledger import Ledger
from bg_agents.lib.db.models import (
    OPEN_INVOICE,
    Customer,
    Document,
    Invoice,
    Match,
    SimulatedGroundTruth,
    Team,
    Transaction,
    UnmatchedRecord,
)
from bg_agents.lib.db.upsert import upsert

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
class TeamScope:
    """One team's matching problem: every record and bank row a person has not settled."""

    team: Team
    records: list[Side]
    candidates: list[Side]


def _touched_teams(session: Session, start: date, end: date) -> list[int]:
    """Teams with any record or bank row dated inside the run's days."""
    queries = [
        sa.select(Document.team_id).where(Document.document_date.between(start, end)),
        sa.select(Invoice.team_id).where(Invoice.issue_date.between(start, end)),
        sa.select(Transaction.team_id).where(Transaction.booking_date.between(start, end)),
        sa.select(UnmatchedRecord.team_id).where(UnmatchedRecord.record_date.between(start, end)),
    ]
    return sorted(set(session.scalars(sa.union(*queries))))


def _settled_by_people(kind: str, model: Any) -> sa.Exists:
    """A record or bank row that a link a person confirmed has taken: not the matcher's to move.

    The team is part of the predicate so the lookup uses the matches' natural-key index.
    """
    confirmed = active_link() & (Match.status == "confirmed") & (Match.team_id == model.team_id)
    if kind == "payment":
        return sa.exists().where(Match.transaction_id == model.id, confirmed)
    return sa.exists().where(Match.record_kind == kind, Match.record_id == model.id, confirmed)


def load_team(session: Session, team: Team) -> TeamScope:
    """The team's whole problem, in id order, so the input never depends on the run's days.

    Links the matcher made itself stay inputs (an invoice it settled counts as still owed here):
    leaving them out would change the problem, its assignments and its ties on a re-run.
    """
    docs = session.scalars(
        sa.select(Document)
        .where(Document.team_id == team.id, ~_settled_by_people("document", Document))
        .order_by(Document.id)
    ).all()
    settled_by_us = sa.exists().where(
        Match.team_id == Invoice.team_id,
        Match.record_kind == "invoice",
        Match.record_id == Invoice.id,
        active_link(),
        Match.status == "auto",
    )
    invoices = session.execute(
        sa.select(Invoice, Customer)
        .outerjoin(Customer, Customer.id == Invoice.customer_id)
        .where(
            Invoice.team_id == team.id,
            Invoice.status.in_(OPEN_INVOICE) | ((Invoice.status == "paid") & settled_by_us),
            ~_settled_by_people("invoice", Invoice),
        )
        .order_by(Invoice.id)
    ).all()
    txs = session.scalars(
        sa.select(Transaction)
        .where(Transaction.team_id == team.id, ~_settled_by_people("payment", Transaction))
        .order_by(Transaction.id)
    ).all()
    currency = team.base_currency
    records = [_in_group(document_side(d, currency), team.id, "out") for d in docs]
    records += [
        _in_group(invoice_side(inv, cust, currency), team.id, "in") for inv, cust in invoices
    ]
    candidates = [
        _in_group(transaction_side(tx, currency), team.id, "out" if tx.amount < 0 else "in")
        for tx in txs
    ]
    return TeamScope(team, records, candidates)


def _in_group(side: Side, team_id: int, direction: str) -> Side:
    return replace(side, group=_group(team_id, direction))


def _by_id(session: Session, model: type, ids: list[int]) -> dict[int, Any]:
    return {row.id: row for row in session.scalars(sa.select(model).where(model.id.in_(ids)))}


def decided_pairs(
    session: Session, team_ids: Iterable[int] | None = None, newest: int | None = None
) -> list[tuple[str, Side, Side]]:
    """People's decisions as (status, record, bank row): the given teams' (all teams' when
    None), the ``newest`` most recent first, or all in id order. Pairs whose record or bank row
    is gone are skipped."""
    query = (
        sa.select(Match, Team.base_currency)
        .join(Team, Team.id == Match.team_id)
        .where(Match.status.in_(HUMAN))
    )
    if team_ids is not None:
        query = query.where(Match.team_id.in_(list(team_ids)))
    if newest is not None:
        query = query.order_by(Match.updated_at.desc(), Match.id.desc()).limit(newest)
    else:
        query = query.order_by(Match.id)
    rows = session.execute(query).all()
    if not rows:
        return []
    docs = _by_id(session, Document, [m.record_id for m, _ in rows if m.record_kind == "document"])
    invoices = {
        inv.id: (inv, cust)
        for inv, cust in session.execute(
            sa.select(Invoice, Customer)
            .outerjoin(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.id.in_([m.record_id for m, _ in rows if m.record_kind == "invoice"]))
        )
    }
    txs = _by_id(session, Transaction, [m.transaction_id for m, _ in rows])
    pairs: list[tuple[str, Side, Side]] = []
    for m, currency in rows:
        tx = txs.get(m.transaction_id)
        if m.record_kind == "document" and m.record_id in docs:
            record = document_side(docs[m.record_id], currency)
        elif m.record_kind == "invoice" and m.record_id in invoices:
            record = invoice_side(*invoices[m.record_id], currency)
        else:
            continue
        if tx is not None:
            pairs.append((m.status, record, transaction_side(tx, currency)))
    return pairs


def _feedback(session: Session, team_ids: Iterable[int]) -> Feedback:
    """Aliases from confirmed pairs, refusals from declined ones (the most recent first)."""
    feedback = Feedback()
    for status, record, side in decided_pairs(session, team_ids, newest=FEEDBACK_LIMIT):
        (feedback.confirm if status == "confirmed" else feedback.decline)(record, side)
    return feedback


def _tie_breaker(
    engine: Engine,
    team: Team,
    stored: dict[str, dict[str, str]],
    backend: ChatBackend | None,
    cfg: MatcherConfig,
    ledger: Ledger,
    evidence: EvidenceModel | None,
) -> TieBreaker | None:
    """The model breaks ties only when a real one is configured; offline, ties go to people.

    A tie a previous run already settled is answered from what it stored, without a model call:
    the link the model chose stays chosen, and a tie left to a person stays with the person.
    Under the learned engine the model's ``match_record`` applies the matcher's learned guard.
    """
    if backend is None or backend.name == OfflineBackend.name:
        return None
    guard = LearnedGuard(evidence, cfg) if evidence is not None else None
    model: TieBreaker | None = None

    def choose(record: Side, options: list[tuple[Side, float]]) -> str | None:
        nonlocal model
        before = stored.get(record.id, {})
        offered = [c.id for c, _ in options]
        chosen = [c for c in offered if before.get(c) == "link"]
        if chosen:
            return chosen[0]
        if any(c in before for c in offered):
            return None
        if model is None:
            model = model_tie_breaker(engine, team.id, team.name, backend, cfg.rules, ledger,
                                      learned=guard)  # fmt: skip
        return model(record, options)

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
Key = tuple[str, int, int]  # (record kind, record id, transaction id)


def _key(row: dict[str, object]) -> Key:
    return (str(row["record_kind"]), int(row["record_id"]), int(row["transaction_id"]))  # type: ignore[call-overload]


def _sides_of(key: Key) -> tuple[str, str]:
    kind, record_id, tx_id = key
    return f"{'doc' if kind == 'document' else 'inv'}-{record_id}", f"tx-{tx_id}"


@dataclass
class _Written:
    rows: int = 0
    links: list[Key] = field(default_factory=list)  # every link the team now has from us
    kept: set[Key] = field(default_factory=set)  # earlier links the answer no longer makes
    stored: list[Key] = field(default_factory=list)  # the proposals now stored
    new_links: list[dict[str, object]] = field(default_factory=list)  # to announce


def _write(
    session: Session, team_id: int, rows: list[dict[str, object]], earlier_links: set[Key]
) -> _Written:
    """Make the team's stored pairs equal ``rows``, leaving every pair a person decided alone.

    An automatic link already stored but no longer proposed (later data made it a tie) is kept,
    and proposals that would contradict it are dropped, so the answer stays idempotent.
    ``earlier_links`` are the links stored before this run's matching: a link the model's tool
    wrote during the run is still new, and announced.
    """
    existing = {
        (m.record_kind, m.record_id, m.transaction_id): m
        for m in session.scalars(sa.select(Match).where(Match.team_id == team_id))
    }
    ours = {k: m for k, m in existing.items() if m.status not in HUMAN}
    proposed = {_key(r): r for r in rows if _key(r) not in existing or _key(r) in ours}
    announced = {k for k, m in ours.items() if m.decision == "link"}
    kept = announced - {k for k, r in proposed.items() if r["decision"] == "link"}
    busy_records = {k[:2] for k in kept}
    busy_txs = {k[2] for k in kept}
    proposed = {
        k: r
        for k, r in proposed.items()
        if k not in kept
        and (k in announced or (k[:2] not in busy_records and k[2] not in busy_txs))
    }
    fresh = [
        r
        for k, r in proposed.items()
        if k not in ours or any(getattr(ours[k], c) != r[c] for c in UPDATED)
    ]
    stale = [m.id for k, m in ours.items() if k not in proposed and k not in kept]
    out = _Written(rows=len(fresh) + len(stale))
    out.links = sorted(kept | {k for k, r in proposed.items() if r["decision"] == "link"})
    out.kept, out.stored = kept, list(proposed)
    out.new_links = [
        r for k, r in proposed.items() if r["decision"] == "link" and k not in earlier_links
    ]
    session.expunge_all()
    for i in range(0, len(stale), 500):
        session.execute(sa.delete(Match).where(Match.id.in_(stale[i : i + 500])))
    upsert(session, Match, fresh, MATCH_KEY, UPDATED)
    return out


def settle_invoices(session: Session, links: list[Key]) -> None:
    """An invoice linked to its payment is paid: insights stop counting it as owed or overdue."""
    ids = sorted({record_id for kind, record_id, _ in links if kind == "invoice"})
    if ids:
        paid_on = (
            sa.select(sa.func.max(Transaction.booking_date))
            .join(Match, Match.transaction_id == Transaction.id)
            .where(
                Match.record_kind == "invoice",
                Match.record_id == Invoice.id,
                active_link(),
            )
            .scalar_subquery()
        )
        session.execute(
            sa.update(Invoice)
            .where(Invoice.id.in_(ids), Invoice.status.in_(OPEN_INVOICE))
            .values(status="paid", amount_paid=Invoice.amount, paid_date=paid_on)
        )


def _notify(session: Session, links: list[dict[str, object]], sides: dict[str, Side]) -> int:
    """One event per new automatic link for the team: a matched receipt is sent at once, paid
    invoices are gathered into the notification policy's 10-minute digest."""
    events = []
    for r in links:
        prefix = "doc" if r["record_kind"] == "document" else "inv"
        record = sides.get(f"{prefix}-{r['record_id']}")
        if record is None:
            words = Words("receipt_matched_plain" if prefix == "doc" else "invoice_paid_plain")
        else:
            amount = Words.money(record.amount, record.currency)
            words = (
                Words("receipt_matched", {"name": record.name, "amount": amount})
                if prefix == "doc"
                else Words("invoice_paid", {"number": record.reference, "amount": amount})
            )
        events.append(
            Event(
                key=f"match:{r['record_kind']}:{r['record_id']}:{r['transaction_id']}",
                team_id=int(r["team_id"]),  # type: ignore[arg-type]
                category="document.matched" if prefix == "doc" else "invoice.paid",
                words=words,
                body=str(r["explanation"]),
                payload={
                    "record": f"{prefix}-{r['record_id']}",
                    "transaction": f"tx-{r['transaction_id']}",
                },
            )
        )
    return notify(session.connection(), events) if events else 0


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


def refresh_unmatched(engine: Engine, team_id: int, until: date) -> None:
    """Keep the team's ``unmatched_records`` rows exactly its unlinked records.

    The run matched the team's whole history, so its whole queue is brought up to date: rows of
    what got linked are removed, and an unlinked record without a row (a person declined its
    link, or its day was never snapshotted) gets its day re-taken, up to the run's last day:
    later days are the ``unmatched_records`` asset's to add, with the sensor run they trigger.
    """
    with engine.begin() as conn:
        queue = {
            (kind, id_): day
            for kind, id_, day in conn.execute(
                sa.select(
                    UnmatchedRecord.record_kind,
                    UnmatchedRecord.record_id,
                    UnmatchedRecord.record_date,
                ).where(UnmatchedRecord.team_id == team_id)
            )
        }
        truth = unlinked_records(conn, team_id)
        stale: dict[str, list[int]] = {}
        for kind, id_ in queue.keys() - truth.keys():
            stale.setdefault(kind, []).append(id_)
        for kind, ids in stale.items():
            for i in range(0, len(ids), 500):
                conn.execute(
                    sa.delete(UnmatchedRecord).where(
                        UnmatchedRecord.record_kind == kind,
                        UnmatchedRecord.record_id.in_(ids[i : i + 500]),
                    )
                )
    for day in sorted({truth[k] for k in truth.keys() - queue.keys() if truth[k] <= until}):
        snapshot_unmatched(engine, day)


def reconcile(
    engine: Engine,
    start: date,
    end: date,
    *,
    config: MatcherConfig = DEFAULT_CONFIG,
    backend: ChatBackend | None = None,
    run_id: str | None = None,
    partition_key: str | None = None,
    only_teams: Collection[int] | None = None,
    model: EvidenceModel | None = None,
) -> ReconcileReport:
    """Match the teams that days ``start``..``end`` touched; see the module docstring.

    The report counts the pairs of records dated inside the run's days (an invoice by its issue
    date), so a re-run reports what it found again, with nothing written or notified.
    ``only_teams`` names the teams to match instead: a person's decision re-reconciles their
    team, whatever the days. The learned engine needs ``model``, trained beforehand on all
    teams (model_store.py): fitted here, it would depend on which teams the run touched.
    """
    if config.engine == "learned" and model is None:
        raise ValueError("the learned engine matches with a stored model: train one first")
    report = ReconcileReport()
    ledger = Ledger(engine, AGENT, run_id=run_id, partition_key=partition_key)
    with Session(engine) as session:
        team_ids = (
            sorted(only_teams) if only_teams is not None else _touched_teams(session, start, end)
        )
        teams = list(
            session.scalars(sa.select(Team).where(Team.id.in_(team_ids)).order_by(Team.id))
        )
    for team in teams:
        with Session(engine) as session:
            scope = load_team(session, team)
            feedback = _feedback(session, [team.id])
            stored: dict[str, dict[str, str]] = {}
            earlier_links: set[Key] = set()
            for m in session.scalars(sa.select(Match).where(Match.team_id == team.id)):
                key = (m.record_kind, m.record_id, m.transaction_id)
                record, tx = _sides_of(key)
                stored.setdefault(record, {})[tx] = m.decision
                if m.decision == "link":
                    earlier_links.add(key)
        sides = {s.id: s for s in (*scope.records, *scope.candidates)}
        in_run = {s.id for s in scope.records if start <= s.date <= end}
        report.teams += 1
        report.records += len(in_run)
        report.candidates += sum(start <= s.date <= end for s in scope.candidates)
        if not scope.records:
            continue
        evidence = model if config.engine == "learned" else None
        tie_breaker = _tie_breaker(engine, team, stored, backend, config, ledger, evidence)
        result = match(scope.records, scope.candidates, config, feedback=feedback,
                       tie_breaker=tie_breaker, model=evidence)  # fmt: skip
        rows = [_match_row(p, team.id) for p in result.pairs]
        report.ties += result.stats["ties"]
        report.model_links += result.stats["model_links"]
        with Session(engine) as session, session.begin():
            written = _write(session, team.id, rows, earlier_links)
            report.written += written.rows
            settle_invoices(session, written.links)
            report.notified += _notify(session, written.new_links, sides)
            # Count what is stored now (an earlier link kept over a new proposal included).
            pair_of = {_key(r): p for r, p in zip(rows, result.pairs, strict=True)}
            mine = [k for k in (*written.stored, *written.kept) if _sides_of(k)[0] in in_run]
            linked = set(written.links)
            for k in mine:
                pair = pair_of.get(k)
                report.decisions["auto" if k in linked else "suggest"] += 1
                report.relations[pair.relation if k not in written.kept and pair else "kept"] += 1
            mine_links = set(mine) & linked
            links = [
                {"team_id": team.id, "record_kind": k[0], "record_id": k[1], "transaction_id": k[2]}
                for k in sorted(mine_links)
            ]
            _check_truth(session, links, report)
        refresh_unmatched(engine, team.id, end)
    report.model_calls = len(ledger.calls)
    return report
