"""Snapshot, for one day, the records that still have no link: receipts, invoices, payments.

A record counts as linked once a match with decision ``link`` exists that was not declined.
Suggestions do not count: a suggested record is still waiting for someone. Reconciliation removes
the rows of what it links (and re-takes the day of anything that lost its link), so between
snapshots the table stays exactly the unlinked set.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.lib.db.models import (
    OPEN_INVOICE,
    Document,
    Invoice,
    Match,
    Transaction,
    UnmatchedRecord,
)
from bg_agents.lib.db.upsert import replace_slice


def active_link(match: type[Match] = Match) -> sa.ColumnElement[bool]:
    """A match row that links (a suggestion or a declined link does not)."""
    return (match.decision == "link") & (match.status != "declined")


def linked(kind: str, id_column: sa.ColumnElement[int]) -> sa.Exists:
    """Whether a record (``document``/``invoice``) or a transaction (``payment``) has a link."""
    link = active_link()
    if kind == "payment":
        return sa.exists().where(Match.transaction_id == id_column, link)
    return sa.exists().where(Match.record_kind == kind, Match.record_id == id_column, link)


def unlinked_records(conn: Connection, team_id: int) -> dict[tuple[str, int], date]:
    """All of a team's records that belong in the snapshot, with their dates.

    The same predicates as :func:`unmatched_on`, for one team and every day; the team is part
    of each link lookup so it uses the matches' natural-key index.
    """

    def no_link(kind: str, model: Any) -> sa.ColumnElement[bool]:
        mine = (Match.team_id == model.team_id) & active_link()
        if kind == "payment":
            return ~sa.exists().where(Match.transaction_id == model.id, mine)
        return ~sa.exists().where(Match.record_kind == kind, Match.record_id == model.id, mine)

    queries = [
        sa.select(sa.literal("receipt"), Document.id, Document.document_date).where(
            Document.team_id == team_id,
            no_link("document", Document),
        ),
        sa.select(sa.literal("invoice"), Invoice.id, Invoice.issue_date).where(
            Invoice.team_id == team_id,
            Invoice.status.in_(OPEN_INVOICE),
            no_link("invoice", Invoice),
        ),
        sa.select(sa.literal("payment"), Transaction.id, Transaction.booking_date).where(
            Transaction.team_id == team_id,
            Transaction.amount > 0,
            no_link("payment", Transaction),
        ),
    ]
    return {(kind, id_): day for query in queries for kind, id_, day in conn.execute(query)}


def unmatched_on(conn: Connection, day: date) -> list[dict]:
    receipts = sa.select(
        sa.literal("receipt").label("record_kind"),
        Document.id,
        Document.team_id,
        Document.amount,
        Document.currency,
        Document.vendor.label("name"),
    ).where(Document.document_date == day, ~linked("document", Document.id))
    invoices = sa.select(
        sa.literal("invoice").label("record_kind"),
        Invoice.id,
        Invoice.team_id,
        Invoice.amount,
        Invoice.currency,
        Invoice.number.label("name"),
    ).where(
        Invoice.issue_date == day,
        Invoice.status.in_(OPEN_INVOICE),
        ~linked("invoice", Invoice.id),
    )
    payments = sa.select(
        sa.literal("payment").label("record_kind"),
        Transaction.id,
        Transaction.team_id,
        Transaction.amount,
        Transaction.currency,
        sa.func.coalesce(Transaction.counterparty, Transaction.description).label("name"),
    ).where(
        Transaction.booking_date == day,
        Transaction.amount > 0,
        ~linked("payment", Transaction.id),
    )
    rows = []
    for query in (receipts, invoices, payments):
        for kind, id_, team_id, amount, currency, name in conn.execute(query):
            rows.append(
                {
                    "record_kind": kind,
                    "record_id": id_,
                    "team_id": team_id,
                    "record_date": day,
                    "amount": amount,
                    "currency": currency,
                    "name": (name or "")[:200],
                }
            )
    return rows


def snapshot_unmatched(engine: Engine, day: date) -> Counter[str]:
    """Replace the day's snapshot; returns counts per record kind."""
    with engine.begin() as conn:
        rows = unmatched_on(conn, day)
        replace_slice(
            conn,
            UnmatchedRecord,
            UnmatchedRecord.record_date == day,
            rows,
            ("record_kind", "record_id"),
            ["team_id", "record_date", "amount", "currency", "name"],
        )
    return Counter(r["record_kind"] for r in rows)
