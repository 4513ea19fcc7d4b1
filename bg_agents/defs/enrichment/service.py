"""Enrich booking days: a merchant and a category for every transaction, all teams at once.

Per transaction, the first that knows decides: a person's row stays as it is; the team's learned
correction for the merchant (``learned``); the rules (``rule``); the model, asked only about the
normalized descriptors still open, many per call, through the shared cache (``model``); else
``none`` with the merchant still recorded. Each day is read in one query and written in batches
of writes keyed by ``transaction_id`` that touch a row only when a value changed, so a re-run
writes nothing (same rows, same ``enriched_at``). The write is optimistic: a row is replaced only
while it still holds what the run read (values and ``enriched_at``), and a line that had no row is
inserted only if it still has none. So a correction committed while a run is under way (a
``person`` row, ``learned`` rows) survives it; the next run decides those lines again. A day at
a time: a year's backfill holds one day in memory, and no write transaction waits on the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from bg_agents.defs.enrichment.rules import Recognition, recognize
from bg_agents.defs.enrichment.taxonomy import CATEGORIES, SOURCES
from bg_agents.lib import clock
from bg_agents.lib.agents.backends import ChatBackend
from bg_agents.lib.db.digest import content_digest
from bg_agents.lib.db.models import (
    MerchantCategory,
    Transaction,
    TransactionEnrichment,
)
from bg_agents.lib.db.upsert import BATCH, insert_missing, update_if_changed

TEXT_LIMIT = 200  # merchant, merchant_key and detail columns
VALUES = ("merchant", "merchant_key", "category", "confidence", "source", "detail")
# What an agent's write compares with the stored row: it replaces only what the run read.
READ = (*VALUES, "enriched_at")


@dataclass
class EnrichReport:
    """What a run did. ``days``: each day's rows by source (every source named, zeros too), as
    stored after the run; ``written``: rows inserted or changed; ``unchanged``: rows the agent
    decided again with the same result; ``kept``: people's rows left as they were."""

    days: dict[date, dict[str, int]] = field(default_factory=dict)
    written: int = 0
    unchanged: int = 0
    kept: int = 0
    model_calls: int = 0
    cache_hits: int = 0
    asked: int = 0
    refused: int = 0
    model_unavailable: str | None = None

    @property
    def transactions(self) -> int:
        return sum(sum(by_source.values()) for by_source in self.days.values())

    @property
    def changed(self) -> bool:
        return self.written > 0

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of model lookups answered by the cache; None when nothing was looked up."""
        looked_up = self.cache_hits + self.asked
        return self.cache_hits / looked_up if looked_up else None


def clip(text: str | None) -> str | None:
    """A value as its column stores it (PostgreSQL refuses a longer one)."""
    return text[:TEXT_LIMIT] if text else None


def stored_version(conn: Connection, first: date, last: date) -> str:
    """What the days' enrichments say, as a digest: it changes when a merchant, a category or who
    decided changes (a person's correction included), not when a re-run writes nothing."""
    e = TransactionEnrichment
    return content_digest(
        conn,
        sa.select(e.transaction_id, e.merchant, e.category, e.source)
        .where(e.booking_date.between(first, last))
        .order_by(e.transaction_id),
    )


def enrich_days(
    engine: Engine,
    first: date,
    last: date,
    backend: ChatBackend | None,
    *,
    run_id: str | None = None,
    partition_key: str | None = None,
    now: Callable[[], datetime] = clock.now,
) -> EnrichReport:
    """Enrich every team's transactions booked in [first, last] (see the module docstring).

    ``backend`` None or the offline backend: the model's cached answers still count, nothing is
    asked.
    """
    if last < first:
        raise ValueError(f"the last day {last} is before the first {first}")
    report = EnrichReport()
    day = first
    while day <= last:
        _enrich_day(engine, day, backend, report, run_id, partition_key, now)
        day += timedelta(days=1)
    return report


def _enrich_day(
    engine: Engine,
    day: date,
    backend: ChatBackend | None,
    report: EnrichReport,
    run_id: str | None,
    partition_key: str | None,
    now: Callable[[], datetime],
) -> None:
    t, e = Transaction, TransactionEnrichment
    with engine.connect() as conn:
        lines = conn.execute(
            sa.select(
                t.id, t.team_id, t.description, t.counterparty, t.amount,
                *(e.__table__.c[c] for c in READ),
            )
            .outerjoin(e, e.transaction_id == t.id)
            .where(t.booking_date == day)
            .order_by(t.id)
        ).all()  # fmt: skip
        learned = learned_categories(conn, day)

    by_source: Counter[str] = Counter()
    decided: dict[int, tuple[Any, ...]] = {}
    open_lines: list[tuple[Any, Recognition]] = []
    for line in lines:
        if line.source == "person":
            by_source["person"] += 1
            report.kept += 1
            continue
        # recognize() is cached: a day repeats the same descriptors many times.
        rec = recognize(line.description or "", line.counterparty, line.amount > 0)
        key = clip(rec.merchant_key)
        taught = learned.get((line.team_id, key)) if key else None
        if taught:
            decided[line.id] = (clip(rec.merchant), key, taught[0], 1.0, "learned", taught[1])
        elif rec.category in CATEGORIES:  # a rule naming anything else is not trusted either
            decided[line.id] = (
                clip(rec.merchant), key, rec.category, rec.confidence, "rule", clip(rec.rule)
            )  # fmt: skip
        else:
            open_lines.append((line, rec))

    answers = _ask_model(
        engine, [rec.descriptor_key for _, rec in open_lines], backend, report,
        run_id, partition_key,
    )  # fmt: skip
    for line, rec in open_lines:
        answer = answers.get(rec.descriptor_key)
        # The model's display name is better than the descriptor's when no rule named it.
        merchant = clip((answer.merchant if answer and not rec.rule else None) or rec.merchant)
        key = clip(rec.merchant_key)
        if answer is not None and answer.category in CATEGORIES:
            model = clip(answer.model)
            decided[line.id] = (merchant, key, answer.category, answer.confidence, "model", model)
        else:
            decided[line.id] = (merchant, key, None, 0.0, "none", None)

    stamp = now()
    rows = []
    for line in lines:
        values = decided.get(line.id)
        if values is None:
            continue
        by_source[values[4]] += 1
        if tuple(getattr(line, c) for c in VALUES) == values:
            report.unchanged += 1
            continue
        row = dict(zip(VALUES, values, strict=True))
        # What the run read: the write replaces the row only if it still holds this.
        read = None if line.enriched_at is None else tuple(getattr(line, c) for c in READ)
        rows.append(
            {**row, "transaction_id": line.id, "team_id": line.team_id, "booking_date": day,
             "enriched_at": stamp, "read": read}
        )  # fmt: skip
    if rows:
        with engine.begin() as conn:
            report.written += write_enrichments(conn, rows)
    report.days[day] = {source: by_source[source] for source in SOURCES}


def learned_categories(conn: Connection, day: date) -> dict[tuple[int, str], tuple[str, str]]:
    """(team, merchant_key) -> (category, detail) of the corrections that apply on ``day``.

    A correction teaches the transactions booked on or after the corrected one (or, if that
    transaction is gone, after the day it was made); earlier ones are only offered to people.
    """
    mc = MerchantCategory
    corrected = aliased(Transaction)
    teams_that_day = sa.select(Transaction.team_id).where(Transaction.booking_date == day)
    rows = conn.execute(
        sa.select(mc.team_id, mc.merchant_key, mc.category, mc.transaction_id,
                  corrected.booking_date, mc.decided_at)
        .outerjoin(corrected, corrected.id == mc.transaction_id)
        .where(mc.team_id.in_(teams_that_day.distinct()))
    )  # fmt: skip
    out = {}
    for team_id, key, category, tx_id, booked, decided_at in rows:
        since = booked if booked is not None else decided_at.date()
        if since <= day and category in CATEGORIES:
            out[(team_id, key)] = (category, learned_detail(tx_id))
    return out


def learned_detail(transaction_id: int | None) -> str:
    return f"correction of transaction {transaction_id}" if transaction_id else "correction"


def _ask_model(
    engine: Engine,
    descriptor_keys: Sequence[str],
    backend: ChatBackend | None,
    report: EnrichReport,
    run_id: str | None,
    partition_key: str | None,
) -> dict[str, Any]:
    """The model's answers (cached or asked), each with the model that gave it."""
    keys = list(dict.fromkeys(k for k in descriptor_keys if k))
    if not keys:
        return {}
    # Imported here: the rules path (and its tests) does not need the model's module.
    from bg_agents.defs.enrichment.model import categorize_descriptors
    from bg_agents.lib.agents.backends import OfflineBackend

    answers, stats = categorize_descriptors(
        engine, keys, backend or OfflineBackend(), run_id=run_id, partition_key=partition_key
    )
    report.model_calls += stats.calls
    report.cache_hits += stats.cache_hits
    report.asked += stats.asked
    report.refused += stats.refused
    report.model_unavailable = stats.unavailable or report.model_unavailable
    return answers


def write_enrichments(
    conn: Connection, rows: Sequence[dict[str, Any]], *, over_person: bool = False
) -> int:
    """Write enrichment rows by transaction; returns how many rows were written.

    A person (``over_person``) writes over whatever is stored, where a value differs. The agent's
    rows carry ``read``: the stored row's ``READ`` values as the run read them, None (or absent)
    if it had none. A row is then inserted only if still absent, and replaced only if it still
    holds exactly what was read (never a ``person`` row): what changed it since is newer than the
    run's decision.
    """
    if over_person:
        return _upsert_any(conn, rows)
    fresh = [_columns(r) for r in rows if r.get("read") is None]
    seen = [r for r in rows if r.get("read") is not None]
    inserted = insert_missing(conn, TransactionEnrichment, fresh, ["transaction_id"])
    return inserted + _replace_as_read(conn, seen)


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "read"}


def _upsert_any(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    table = TransactionEnrichment.__table__
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
    touch = ("team_id", "booking_date", "enriched_at")
    stmt = update_if_changed(insert, table, ["transaction_id"], VALUES, touch)
    stmt = stmt.returning(table.c.id)
    written = 0
    for start in range(0, len(rows), BATCH):
        batch = [_columns(r) for r in rows[start : start + BATCH]]
        written += len(conn.execute(stmt, batch).all())
    return written


def _replace_as_read(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """UPDATE each row whose stored ``READ`` values are still the ones read (executemany:
    per-row conditions, which a multi-row upsert cannot carry)."""
    if not rows:
        return 0
    table = TransactionEnrichment.__table__
    written = (*VALUES, "enriched_at")
    stmt = (
        sa.update(table)
        .where(
            table.c.transaction_id == sa.bindparam("w_transaction_id"),
            table.c.source != "person",
            *(
                table.c[c].is_not_distinct_from(sa.bindparam(f"r_{c}", type_=table.c[c].type))
                for c in READ
            ),
        )
        .values({c: sa.bindparam(f"w_{c}", type_=table.c[c].type) for c in written})
    )
    params = [
        {
            "w_transaction_id": r["transaction_id"],
            **{f"w_{c}": r[c] for c in written},
            **{f"r_{c}": v for c, v in zip(READ, r["read"], strict=True)},
        }
        for r in rows
    ]
    count = 0
    for start in range(0, len(params), BATCH):
        count += conn.execute(stmt, params[start : start + BATCH]).rowcount
    return count
