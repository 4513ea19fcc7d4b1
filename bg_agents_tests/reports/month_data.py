"""A hand-made month for the report tests: March 2026 of a New York team (DST starts on the 8th).

Every row is placed on purpose: bookings on the month's first and last day and just outside
it, a conversion the provider did not give, invoices at both sides of each ageing edge, an
invoice paid after the month's end, decisions just inside and outside the local month, model
calls with and without a known cost, and a second team whose rows must never count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.lib.db.models import (
    Insight,
    Invoice,
    LLMCall,
    Match,
    Reminder,
    Team,
    Transaction,
    UnmatchedRecord,
)

MONTH = date(2026, 3, 1)
LAST = date(2026, 3, 31)
ZONE = "America/New_York"
NY = ZoneInfo(ZONE)
# The month ends at 2026-04-01 00:00 New York time (EDT, UTC-4): 04:00 UTC.
CUTOFF = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)


def local(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=NY).astimezone(UTC)


def add_team(engine: Engine, slug: str, name: str = "Acme", currency: str = "USD") -> int:
    with engine.begin() as conn:
        return conn.execute(
            sa.insert(Team)
            .values(slug=slug, name=name, time_zone=ZONE, base_currency=currency, locale="en_US")
            .returning(Team.id)
        ).scalar_one()


def seed_month(engine: Engine) -> tuple[int, int]:
    """(team id, other team id) with the rows described in the module doc."""
    team = add_team(engine, "acme")
    other = add_team(engine, "other")
    n = iter(range(10_000))

    def tx(team_id: int, day: date, amount: str, category: str | None, base: bool = True) -> Any:
        value = Decimal(amount)
        return {
            "team_id": team_id,
            "source": "test",
            "external_id": f"t{next(n)}",
            "booking_date": day,
            "amount": value,
            "currency": "USD" if base else "EUR",
            "base_amount": value if base else None,
            "description": "",
            "category": category,
        }

    rows = [
        tx(team, date(2026, 3, 1), "1000.00", "sales"),
        tx(team, date(2026, 3, 1), "-120.50", "rent"),
        tx(team, date(2026, 3, 9), "-80.25", "software"),
        tx(team, date(2026, 3, 9), "-19.75", "software"),
        tx(team, date(2026, 3, 16), "2500.10", "sales"),
        tx(team, date(2026, 3, 20), "-300.00", None),
        tx(team, date(2026, 3, 31), "-0.01", "rent"),
        tx(team, date(2026, 3, 31), "45.00", None),
        tx(team, date(2026, 3, 12), "-999.00", "travel", base=False),  # no base amount
        tx(team, date(2026, 2, 28), "-777.00", "rent"),  # previous month
        tx(team, date(2026, 2, 3), "400.00", "sales"),
        tx(team, date(2026, 4, 1), "5000.00", "sales"),  # next month
        tx(other, date(2026, 3, 10), "123456.00", "sales"),  # another team
        tx(other, date(2025, 3, 10), "-5.00", "rent"),
    ]
    invoices = []

    def invoice(due: date, amount: str, **kw: Any) -> None:
        invoices.append(
            {
                "team_id": kw.pop("team_id", team),
                "number": f"INV-{next(n)}",
                "amount": Decimal(amount),
                "currency": kw.pop("currency", "USD"),
                "issue_date": kw.pop("issue_date", due - timedelta(days=14)),
                "due_date": due,
                "status": kw.pop("status", "open"),
                "amount_paid": Decimal(kw.pop("paid", "0")),
                "paid_date": kw.pop("paid_date", None),
            }
        )

    days_past_due = {0: "1.00", 30: "30.00", 31: "31.00", 60: "60.00", 61: "61.00"}
    days_past_due |= {90: "90.00", 91: "91.00", -10: "7.00"}
    for days, amount in days_past_due.items():
        invoice(LAST - timedelta(days=days), amount)
    invoice(LAST - timedelta(days=5), "200.00", status="partially_paid", paid="50.00")
    invoice(
        LAST - timedelta(days=3), "400.00", status="paid", paid="400.00", paid_date=date(2026, 4, 3)
    )  # paid after the month: owed at its end
    invoice(
        LAST - timedelta(days=3),
        "800.00",
        status="paid",
        paid="800.00",
        paid_date=date(2026, 3, 30),
    )  # paid inside the month
    invoice(LAST - timedelta(days=40), "900.00", status="void")
    invoice(date(2026, 4, 20), "1200.00", issue_date=date(2026, 4, 1))  # issued later
    invoice(LAST - timedelta(days=40), "650.00", currency="EUR")  # not the base currency
    invoice(LAST - timedelta(days=40), "333.00", team_id=other)

    with engine.begin() as conn:
        conn.execute(sa.insert(Transaction), rows)
        conn.execute(sa.insert(Invoice), invoices)
        tx_id = conn.scalar(sa.select(sa.func.min(Transaction.id)))
        inv_id = conn.scalar(sa.select(sa.func.min(Invoice.id)))

        def match(status: str, made: datetime, decided: datetime | None = None, **kw: Any) -> Any:
            return {
                "team_id": kw.get("team_id", team),
                "record_kind": "invoice",
                "record_id": inv_id + next(n),
                "transaction_id": tx_id,
                "decision": "suggestion" if status == "pending" else "link",
                "status": status,
                "score": 0.9,
                "created_at": made,
                "updated_at": decided or made,
            }

        conn.execute(
            sa.insert(Match),
            [
                match("auto", local(1, 0) + timedelta(minutes=1)),  # just inside (EST)
                match("auto", local(31, 23)),  # inside, EDT
                match("auto", CUTOFF),  # the cut-off instant itself: next month
                match("auto", local(28, 12, month=2)),
                match("confirmed", local(2, 9, month=2), local(15)),
                match("declined", local(20), local(21)),
                match("declined", local(20), CUTOFF + timedelta(hours=1)),
                match("pending", local(25)),
                match("pending", CUTOFF + timedelta(days=1)),  # suggested after the cut-off
                match("auto", local(10), team_id=other),
            ],
        )
        conn.execute(
            sa.insert(UnmatchedRecord),
            [
                _unmatched(team, "receipt", LAST - timedelta(days=2)),
                _unmatched(team, "receipt", LAST - timedelta(days=45)),
                _unmatched(team, "payment", LAST - timedelta(days=100)),
                _unmatched(team, "receipt", LAST + timedelta(days=1)),  # after the month
                _unmatched(other, "receipt", LAST),
            ],
        )
        conn.execute(
            sa.insert(LLMCall),
            [
                _call(team, local(3), "0.0120"),
                _call(team, local(30), "0.0030"),
                _call(team, local(30), None),  # price unknown
                _call(team, CUTOFF + timedelta(seconds=1), "5.0000"),  # next month
                _call(other, local(3), "1.0000"),
            ],
        )
        conn.execute(
            sa.insert(Insight),
            [
                _insight(team, "delivered", local(9)),
                _insight(team, "skipped", local(16)),
                _insight(team, "delivered", local(2, month=4)),
            ],
        )
        conn.execute(
            sa.insert(Reminder),
            [
                _reminder(team, inv_id, "team", "notified", local(5)),
                _reminder(team, inv_id, "customer", "sent", local(6)),
                _reminder(team, inv_id, "customer", "failed", None),
                _reminder(team, inv_id, "team", "skipped_paid", None),
                _reminder(team, inv_id, "customer", "sent", local(1, month=4)),
            ],
        )
    return team, other


def _unmatched(team: int, kind: str, day: date) -> dict[str, Any]:
    return {
        "team_id": team,
        "record_kind": kind,
        "record_id": day.toordinal(),
        "record_date": day,
        "amount": Decimal("10.00"),
        "currency": "USD",
        "name": "x",
    }


def _call(team: int, at: datetime, cost: str | None) -> dict[str, Any]:
    return {
        "agent": "insights",
        "team_id": team,
        "model": "m",
        "prompt_tokens": 10,
        "completion_tokens": 10,
        "latency_ms": 5,
        "cost_usd": None if cost is None else Decimal(cost),
        "outcome": "ok",
        "created_at": at,
    }


def _insight(team: int, status: str, at: datetime) -> dict[str, Any]:
    return {
        "team_id": team,
        "week_start": at.date() - timedelta(days=at.date().weekday()),
        "content": "-",
        "status": status,
        "path": "llm",
        "created_at": at,
    }


def _reminder(
    team: int, invoice: int, audience: str, status: str, sent: datetime | None
) -> dict[str, Any]:
    at = sent or local(7)
    return {
        "key": f"{audience}-{status}-{at.isoformat()}",
        "team_id": team,
        "invoice_id": invoice,
        "audience": audience,
        "kind": "overdue_7",
        "local_date": at.date(),
        "slot": "x",
        "due_at": at,
        "status": status,
        "amount_due": Decimal("1.00"),
        "currency": "USD",
        "sent_at": sent,
    }
