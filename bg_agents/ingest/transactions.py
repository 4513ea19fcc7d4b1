"""Ingest one booking day: fetch from providers, validate, upsert, quarantine what is bad.

This is the body of the ``transactions`` asset, kept free of Dagster so it is tested directly.
Idempotency comes from the database: transactions are inserted only where
(team, source, external id) is absent, quarantine entries only where (source, batch, row) is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.db.models import QuarantinedRow, StagedImportRow, Team, Transaction
from bg_agents.db.upsert import insert_missing
from bg_agents.ingest import simulated_bank
from bg_agents.ingest.normalize import TeamRef, normalize
from bg_agents.ingest.raw import RawTransaction

TRANSACTION_KEY = ("team_id", "source", "external_id")
QUARANTINE_KEY = ("source", "batch_ref", "row_ref")


@dataclass
class IngestResult:
    day: date
    received: int = 0
    inserted: int = 0
    quarantined: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def already_present(self) -> int:
        return self.received - self.inserted - self.quarantined


def team_refs(conn: Connection) -> dict[str, TeamRef]:
    rows = conn.execute(sa.select(Team.slug, Team.id, Team.base_currency))
    return {slug: TeamRef(id=id_, base_currency=cur) for slug, id_, cur in rows}


def staged_rows(conn: Connection, day: date) -> list[RawTransaction]:
    """Rows from imported files booked on ``day`` (see :mod:`bg_agents.ingest.staging`)."""
    raws = conn.scalars(sa.select(StagedImportRow.raw).where(StagedImportRow.booking_date == day))
    return [RawTransaction(**raw) for raw in raws]


def ingest_day(engine: Engine, day: date) -> IngestResult:
    result = IngestResult(day=day)
    with engine.begin() as conn:
        raw = simulated_bank.fetch(conn, day) + staged_rows(conn, day)
        result.received = len(raw)
        result.by_source.update(r.source for r in raw)
        batch = normalize(raw, team_refs(conn))
        result.inserted = insert_missing(conn, Transaction, batch.transactions, TRANSACTION_KEY)
        insert_missing(conn, QuarantinedRow, batch.quarantined, QUARANTINE_KEY)
        result.quarantined = len(batch.quarantined)
        result.reasons.update(_reason_kind(q["reason"]) for q in batch.quarantined)
    return result


def _reason_kind(reason: str) -> str:
    """'bad amount '12,3'' -> 'bad amount': groups reasons for the UI without the values."""
    return reason.split(" '")[0].split(' "')[0]
