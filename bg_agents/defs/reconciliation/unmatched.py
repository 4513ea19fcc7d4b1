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


def linked(kind: str, model: Any) -> sa.Exists:
    """Whether a record (``document``/``invoice``) or a transaction (``payment``) has a link.

    The record's team is part of the lookup, so it uses the matches' natural-key index."""
    link = (Match.team_id == model.team_id) & active_link()
    if kind == "payment":
        return sa.exists().where(Match.transaction_id == model.id, link)
    return sa.exists().where(Match.record_kind == kind, Match.record_id == model.id, link)


def _unlinked(where_document: Any, where_invoice: Any, where_payment: Any) -> list[sa.Select[Any]]:
    """What belongs in the snapshot, one query per kind: receipts, open invoices and incoming
    payments without a link, each with its team, date, amount, currency and name."""
    return [
        sa.select(
            sa.literal("receipt"),
            Document.id,
            Document.team_id,
            Document.document_date,
            Document.amount,
            Document.currency,
            Document.vendor,
        ).where(where_document, ~linked("document", Document)),
        sa.select(
            sa.literal("invoice"),
            Invoice.id,
            Invoice.team_id,
            Invoice.issue_date,
            Invoice.amount,
            Invoice.currency,
            Invoice.number,
        ).where(where_invoice, Invoice.status.in_(OPEN_INVOICE), ~linked("invoice", Invoice)),
        sa.select(
            sa.literal("payment"),
            Transaction.id,
            Transaction.team_id,
            Transaction.booking_date,
            Transaction.amount,
            Transaction.currency,
            sa.func.coalesce(Transaction.counterparty, Transaction.description),
        ).where(where_payment, Transaction.amount > 0, ~linked("payment", Transaction)),
    ]


def unlinked_records(conn: Connection, team_id: int) -> dict[tuple[str, int], date]:
    """All of a team's records that belong in the snapshot, with their dates."""
    queries = _unlinked(
        Document.team_id == team_id, Invoice.team_id == team_id, Transaction.team_id == team_id
    )
    return {(row[0], row[1]): row[3] for query in queries for row in conn.execute(query)}


def unmatched_on(conn: Connection, day: date) -> list[dict]:
    """The snapshot rows of one day, every team."""
    queries = _unlinked(
        Document.document_date == day, Invoice.issue_date == day, Transaction.booking_date == day
    )
    return [
        {
            "record_kind": kind,
            "record_id": id_,
            "team_id": team_id,
            "record_date": day,
            "amount": amount,
            "currency": currency,
            "name": (name or "")[:200],
        }
        for query in queries
        for kind, id_, team_id, _, amount, currency, name in conn.execute(query)
    ]


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
