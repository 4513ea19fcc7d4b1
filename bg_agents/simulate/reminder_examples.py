"""SIMULATED invoices that give one team a reminder of every kind on a given local day.

The simulated world's invoices fall due on random days, so on the demo's day a team may have no
invoice exactly 7 or 30 days overdue. The demo adds, for one team: an invoice due tomorrow (due
soon), invoices 1, 7, 14 and 30 days overdue of one customer who opted in to payment reminders
(the team turns customer reminders on: steps 1, 7 and 14 days), and two monthly templates, one
whose next invoice is issued that day and one whose next invoice is issued the day after (the
"upcoming" notice). Written once per natural key: the demo run twice adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.lib.db.models import Customer, Invoice, ReminderSettings, Team
from bg_agents.lib.db.upsert import insert_missing

PREFIX = "SIM-REM"
OVERDUE = (1, 7, 14, 30)


def _monthly_anchor(next_issue: date) -> date:
    """A template date whose monthly series lands on ``next_issue``: the same day of the month
    one, two or three months back (31 March comes from 31 January, February has no 31st)."""
    year, month = next_issue.year, next_issue.month
    for _ in range(3):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        try:
            return date(year, month, next_issue.day)
        except ValueError:
            continue
    raise AssertionError("every day of the month exists within three months")


def seed_reminder_examples(engine: Engine, team_slug: str, local_date: date) -> int:
    """Add the examples for ``team_slug`` relative to its ``local_date``; return new invoices."""
    with engine.begin() as conn:
        team = conn.execute(
            sa.select(Team.id, Team.base_currency, Team.locale).where(Team.slug == team_slug)
        ).one()
        customer = conn.execute(
            sa.select(Customer.id)
            .where(Customer.team_id == team.id, Customer.email.is_not(None))
            .order_by(Customer.id)
            .limit(1)
        ).scalar_one()
        conn.execute(
            sa.update(Customer)
            .where(Customer.id == customer)
            .values(reminders_opt_in=True, locale=team.locale)
        )
        insert_missing(
            conn,
            ReminderSettings,
            [
                {
                    "team_id": team.id,
                    "customer_reminders": True,
                    "customer_steps": [1, 7, 14],
                    "reply_to": f"billing@{team_slug}.example",
                    "payment_details": "SIMULATED: IBAN DE89 3704 0044 0532 0130 00",
                }
            ],
            ["team_id"],
        )

        def invoice(suffix: str, due: date, amount: str) -> dict[str, object]:
            return {
                "team_id": team.id,
                "customer_id": customer,
                "number": f"{PREFIX}-{local_date:%Y%m%d}-{suffix}",
                "amount": Decimal(amount),
                "currency": team.base_currency,
                "issue_date": due - timedelta(days=14),
                "due_date": due,
                "status": "open",
                "amount_paid": Decimal(0),
                "paid_date": None,
                "recurrence": None,  # every row the same keys: one multi-row insert
            }

        rows = [invoice("DUE", local_date + timedelta(days=1), "1250.00")]
        rows += [
            invoice(f"OD{d}", local_date - timedelta(days=d), f"{400 + 90 * d}.00") for d in OVERDUE
        ]
        for suffix, next_issue in (
            ("REC-TODAY", local_date),
            ("REC-NEXT", local_date + timedelta(days=1)),
        ):
            issued = _monthly_anchor(next_issue)
            rows.append(
                {
                    **invoice(suffix, issued + timedelta(days=14), "99.00"),
                    "issue_date": issued,
                    "status": "paid",
                    "amount_paid": Decimal("99.00"),
                    "paid_date": issued + timedelta(days=10),
                    "recurrence": "monthly",
                }
            )
        return insert_missing(conn, Invoice, rows, ["team_id", "number"])
