"""SIMULATED bank feed provider: reads one day of the demo bank's ledger (``simulated_bank_feed``).

A real provider (Plaid, GoCardless, a bank's API) would implement the same call, ``fetch(day)``,
returning :class:`RawTransaction` rows exactly as received.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.db.models import SimulatedBankFeedRow as Feed
from bg_agents.ingest.raw import RawTransaction

SOURCE = "simbank"


def fetch(conn: Connection, day: date) -> list[RawTransaction]:
    rows = conn.execute(
        sa.select(
            Feed.team_slug,
            Feed.external_id,
            Feed.value_date,
            Feed.amount,
            Feed.currency,
            Feed.base_amount,
            Feed.description,
            Feed.counterparty,
            Feed.reference,
            Feed.category,
        ).where(Feed.value_date == day)
    )
    batch = day.isoformat()
    return [
        RawTransaction(
            source=SOURCE,
            batch_ref=batch,
            row_ref=r.external_id,
            team_ref=r.team_slug,
            external_id=r.external_id,
            booking_date=r.value_date.isoformat(),
            amount=r.amount,
            currency=r.currency,
            base_amount=r.base_amount,
            description=r.description,
            counterparty=r.counterparty,
            reference=r.reference,
            category=r.category,
        )
        for r in rows
    ]
