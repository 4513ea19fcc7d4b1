"""Ingest one booking day: fetch from providers, validate, upsert, quarantine what is bad.

This is the body of the ``transactions`` asset, kept free of Dagster so it is tested directly.
Idempotency comes from the database: transactions are inserted only where
(team, source, external id) is absent, quarantine entries only where (source, batch, row) is.

Every row received ends in exactly one of three outcomes: it lands, it is an identical duplicate
of a stored (or earlier) row with the same id, or it is quarantined with a reason. A row that
reuses a known id with different content (``TX1,-20.00`` then ``TX1,-999.00``) is a conflict:
quarantined, never dropped as "already present" and never overwriting the stored row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.defs.ingestion import simulated_bank
from bg_agents.defs.ingestion.normalize import TeamRef, normalize
from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.lib.db.models import QuarantinedRow, StagedImportRow, Team, Transaction
from bg_agents.lib.db.upsert import insert_missing

TRANSACTION_KEY = ("team_id", "source", "external_id")
QUARANTINE_KEY = ("source", "batch_ref", "row_ref")
LANDED, DUPLICATE, QUARANTINED = "landed", "duplicate", "quarantined"
# What makes two rows with the same bank id the same row: the money facts. Texts are left out
# on purpose: banks re-word memos between exports and legacy encodings change accents, and
# neither makes it another transaction.
_COMPARED = ("booking_date", "amount", "currency")
_LOOKUP_CHUNK = 500


@dataclass
class IngestResult:
    day: date
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    conflicts: int = 0  # included in quarantined
    by_source: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def already_present(self) -> int:
        return self.received - self.inserted - self.quarantined


def team_refs(conn: Connection) -> dict[str, TeamRef]:
    rows = conn.execute(sa.select(Team.slug, Team.id, Team.base_currency))
    return {slug: TeamRef(id=id_, base_currency=cur) for slug, id_, cur in rows}


def staged_rows(conn: Connection, day: date) -> list[RawTransaction]:
    """Rows from imported files booked on ``day`` (see :mod:`bg_agents.defs.ingestion.staging`)."""
    return [raw for _, raw in _staged(conn, day)]


def _staged(conn: Connection, day: date) -> list[tuple[int, RawTransaction]]:
    rows = conn.execute(
        sa.select(StagedImportRow.id, StagedImportRow.raw)
        .where(StagedImportRow.booking_date == day)
        .order_by(StagedImportRow.import_file_id, StagedImportRow.row_number)
    )
    return [(id_, RawTransaction(**raw)) for id_, raw in rows]


def _content(row: dict[str, Any] | sa.Row[Any]) -> tuple[Any, ...]:
    values = row if isinstance(row, dict) else row._mapping
    return tuple(values[name] for name in _COMPARED)


def _stored(conn: Connection, keys: set[tuple[int, str, str]]) -> dict[tuple, tuple]:
    """Content of the stored transactions with these keys, looked up by external id in chunks."""
    ids = sorted({external_id for _, _, external_id in keys})
    out: dict[tuple, tuple] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        rows = conn.execute(
            sa.select(Transaction.team_id, Transaction.source, Transaction.external_id)
            .add_columns(*(getattr(Transaction, name) for name in _COMPARED))
            .where(Transaction.external_id.in_(ids[start : start + _LOOKUP_CHUNK]))
        )
        for row in rows:
            key = (row.team_id, row.source, row.external_id)
            if key in keys:
                out[key] = _content(row)
    return out


def _conflict_reason(external_id: str, mine: tuple, theirs: tuple) -> str:
    differences = ", ".join(
        f"{name} {a!s} here, {b!s} stored"
        for name, a, b in zip(_COMPARED, mine, theirs, strict=True)
        if a != b
    )
    return f"conflicting duplicate of {external_id}: {differences}"


def ingest_day(engine: Engine, day: date) -> IngestResult:
    result = IngestResult(day=day)
    with engine.begin() as conn:
        staged = _staged(conn, day)
        raws = simulated_bank.fetch(conn, day) + [raw for _, raw in staged]
        result.received = len(raws)
        result.by_source.update(r.source for r in raws)
        teams = team_refs(conn)
        outcomes, quarantine = _decide(conn, raws, teams, result)
        new = [t for t, outcome in outcomes if outcome == LANDED and t is not None]
        result.inserted = insert_missing(conn, Transaction, new, TRANSACTION_KEY)
        insert_missing(conn, QuarantinedRow, quarantine, QUARANTINE_KEY)
        _record_outcomes(conn, staged, [o for _, o in outcomes[len(raws) - len(staged) :]])
    return result


def _decide(
    conn: Connection,
    raws: Sequence[RawTransaction],
    teams: dict[str, TeamRef],
    result: IngestResult,
) -> tuple[list[tuple[dict[str, Any] | None, str]], list[dict[str, Any]]]:
    """Each row's outcome (with its transaction when valid) and the quarantine entries."""
    checked = [normalize([raw], teams) for raw in raws]
    keys = {(t["team_id"], t["source"], t["external_id"]) for n in checked for t in n.transactions}
    known = _stored(conn, keys)
    outcomes: list[tuple[dict[str, Any] | None, str]] = []
    quarantine: list[dict[str, Any]] = []
    for raw, n in zip(raws, checked, strict=True):
        if n.quarantined:
            quarantine.extend(n.quarantined)
            outcomes.append((None, QUARANTINED))
            continue
        (txn,) = n.transactions
        key = (txn["team_id"], txn["source"], txn["external_id"])
        content = _content(txn)
        if key not in known:
            known[key] = content
            outcomes.append((txn, LANDED))
        elif known[key] == content:
            result.duplicates += 1
            outcomes.append((txn, DUPLICATE))
        else:
            result.conflicts += 1
            quarantine.append(
                {
                    "source": raw.source,
                    "batch_ref": raw.batch_ref,
                    "row_ref": raw.row_ref,
                    "team_ref": raw.team_ref[:64],
                    "raw": raw.as_dict(),
                    "reason": _conflict_reason(txn["external_id"], content, known[key]),
                }
            )
            outcomes.append((None, QUARANTINED))
    result.quarantined = sum(1 for _, o in outcomes if o == QUARANTINED)
    result.reasons.update(reason_kind(q["reason"]) for q in quarantine)
    return outcomes, quarantine


def _record_outcomes(
    conn: Connection, staged: list[tuple[int, RawTransaction]], outcomes: list[str]
) -> None:
    """Mark each staged file row with what became of it, for the file's report. A row that
    landed keeps that outcome when its day is ingested again (it is then "already there")."""
    if not staged:
        return
    table = StagedImportRow.__table__
    conn.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .where(sa.or_(table.c.outcome.is_(None), table.c.outcome == QUARANTINED))
        .values(outcome=sa.bindparam("row_outcome")),
        [
            {"row_id": row_id, "row_outcome": outcome}
            for (row_id, _), outcome in zip(staged, outcomes, strict=True)
        ],
    )


_KIND_END = re.compile(r""" ['"]|: | -?\d""")


def reason_kind(reason: str) -> str:
    """'bad amount '12,3'' -> 'bad amount': groups reasons for the UI without the values."""
    return _KIND_END.split(reason, maxsplit=1)[0]


_reason_kind = reason_kind
