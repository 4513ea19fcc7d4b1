"""Builders the reminder tests share: teams in a zone, customers, invoices, payments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.lib.db.models import Customer, Invoice, Reminder, Team, User


def add_team(
    conn: Connection, slug: str, zone: str = "Europe/Berlin", *, users: int = 1, locale="en_US"
) -> int:
    team = conn.execute(
        sa.insert(Team).returning(Team.id),
        {"slug": slug, "name": slug.title(), "time_zone": zone, "base_currency": "EUR",
         "locale": locale},
    ).scalar_one()  # fmt: skip
    for i in range(users):
        conn.execute(
            sa.insert(User), {"team_id": team, "email": f"u{i}@{slug}.test", "name": f"U{i}"}
        )
    return team


def add_customer(conn: Connection, team: int, name: str, **values: object) -> int:
    return conn.execute(
        sa.insert(Customer).returning(Customer.id),
        {"team_id": team, "external_id": name.lower().replace(" ", "-"), "name": name, **values},
    ).scalar_one()


def add_invoice(
    conn: Connection,
    team: int,
    number: str,
    due: date,
    amount: str = "100.00",
    *,
    customer: int | None = None,
    status: str = "open",
    paid: str = "0",
    currency: str = "EUR",
) -> int:
    return conn.execute(
        sa.insert(Invoice).returning(Invoice.id),
        {"team_id": team, "customer_id": customer, "number": number, "amount": Decimal(amount),
         "currency": currency, "issue_date": date(2025, 12, 1), "due_date": due,
         "status": status, "amount_paid": Decimal(paid)},
    ).scalar_one()  # fmt: skip


def pay(engine: Engine, invoice: int, amount: str | None = None) -> None:
    """Record a payment as reconciliation does: whole (paid) or part (partially_paid)."""
    with engine.begin() as conn:
        total = conn.scalar(sa.select(Invoice.amount).where(Invoice.id == invoice))
        paid = total if amount is None else Decimal(amount)
        status = "paid" if paid >= total else "partially_paid"
        conn.execute(
            sa.update(Invoice)
            .where(Invoice.id == invoice)
            .values(status=status, amount_paid=paid, paid_date=date(2026, 3, 2))
        )


def reminders(engine: Engine) -> list[tuple[str, str]]:
    """(key, status) of every team reminder, by key."""
    with engine.connect() as conn:
        return [
            (r.key, r.status)
            for r in conn.execute(
                sa.select(Reminder.key, Reminder.status)
                .where(Reminder.audience == "team")
                .order_by(Reminder.key)
            )
        ]
