"""The notification engine's guard for reminders: an invoice paid after its reminder was decided
(09:00) but before the digest went out (the end of its 30-minute window) is not mentioned.

``policy.toml`` names :func:`still_owed` as the "invoice.overdue" category's guard; the engine
calls it on a group's waiting events, in the transaction that would send them, and withdraws the
events it returns. The matching reminders are recorded ``skipped_paid``, so the record says what
happened to each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.reminders.rules import owed
from bg_agents.defs.reminders.team import not_owed_reason
from bg_agents.lib.db.models import Invoice, Reminder


def still_owed(conn: Connection, events: Sequence[Any]) -> dict[str, str]:
    """``{event key: "invoice paid" | "invoice void"}`` for events whose invoice is no longer
    owed. The invoices are read with a share lock on PostgreSQL: a payment committing now waits
    until the digest is committed (and so comes after it, not during it)."""
    by_invoice: dict[int, list[str]] = {}
    for event in events:
        invoice_id = (event.payload or {}).get("invoice_id")
        if isinstance(invoice_id, int) and not isinstance(invoice_id, bool):
            by_invoice.setdefault(invoice_id, []).append(event.idempotency_key)
    if not by_invoice:
        return {}
    query = sa.select(Invoice.id, Invoice.status, Invoice.amount, Invoice.amount_paid).where(
        Invoice.id.in_(list(by_invoice))
    )
    if conn.dialect.name == "postgresql":
        query = query.order_by(Invoice.id).with_for_update(read=True)
    current = {row.id: row for row in conn.execute(query).all()}
    withdrawn: dict[str, str] = {}
    for invoice_id, keys in by_invoice.items():
        row = current.get(invoice_id)
        if row is not None and owed(row.status, row.amount, row.amount_paid):
            continue
        reason = not_owed_reason(row.status) if row is not None else "invoice deleted"
        withdrawn.update(dict.fromkeys(keys, reason))
    if withdrawn:
        # "skipped_paid" for a void invoice too: the reminder's statuses say sent or why not.
        conn.execute(
            sa.update(Reminder)
            .where(Reminder.key.in_(list(withdrawn)), Reminder.status == "notified")
            .values(status="skipped_paid", sent_at=None)
        )
    return withdrawn
