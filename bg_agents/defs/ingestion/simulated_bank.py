"""SIMULATED bank feed provider: reads one day of the demo bank's ledger (``simulated_bank_feed``).

A real provider (Plaid, GoCardless, a bank's API) would implement the same call, ``fetch(day)``,
returning :class:`RawTransaction` rows exactly as received.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.lib.db.models import SimulatedBankFeedRow as Feed

SOURCE = "simbank"


def fetch(conn: Connection, day: date) -> list[RawTransaction]:
    rows = conn.execute(
        sa.select(
            Feed.team_slug,
            Feed.external_id,
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
    # Positional unpacking: attribute access on SQLAlchemy rows costs more than the query here.
    return [
        RawTransaction(
            source=SOURCE,
            batch_ref=batch,
            row_ref=external_id,
            team_ref=slug,
            external_id=external_id,
            booking_date=batch,
            amount=amount,
            currency=currency,
            base_amount=base_amount,
            description=description,
            counterparty=counterparty,
            reference=reference,
            category=category,
        )
        for (
            slug,
            external_id,
            amount,
            currency,
            base_amount,
            description,
            counterparty,
            reference,
            category,
        ) in rows.tuples()
    ]
