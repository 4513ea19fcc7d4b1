"""Idempotent writes: insert-if-absent and upsert on a natural key, on SQLite and PostgreSQL.

Both dialects speak ``INSERT ... ON CONFLICT``; this module hides the import difference and batches
rows so a large partition is written in a few round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

BATCH = 5_000


def _insert(bind: Connection | Session, table: sa.Table) -> Any:
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are implemented for sqlite and postgresql, not {dialect}")


def _batches(rows: Iterable[Mapping[str, Any]]) -> Iterable[list[Mapping[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, BATCH)):
        yield batch


def insert_missing(
    bind: Connection | Session,
    model: Any,
    rows: Iterable[Mapping[str, Any]],
    key: Sequence[str],
) -> int:
    """Insert rows whose natural ``key`` is absent; return how many were new."""
    table: sa.Table = model.__table__
    inserted = 0
    for batch in _batches(rows):
        stmt = _insert(bind, table).on_conflict_do_nothing(index_elements=list(key))
        result = bind.execute(stmt.returning(table.c.id), batch)
        inserted += len(result.all())
    return inserted


def update_if_changed(
    insert: Any,
    table: sa.Table,
    key: Sequence[str],
    update: Sequence[str],
    touch: Sequence[str] = (),
    where: sa.ColumnElement[bool] | None = None,
) -> Any:
    """``ON CONFLICT (key) DO UPDATE`` that rewrites a row only when one of ``update`` differs.

    A re-run then writes nothing at all: no new row versions (and bloat) on PostgreSQL, ids and
    timestamps kept. ``touch`` columns (e.g. a "computed at" stamp) are set when the row changes
    but not compared. ``where``: a further condition the stored row must meet to be rewritten
    (e.g. not a person's), checked in the same statement, so a row changed meanwhile is kept.
    """
    changed = sa.or_(*(table.c[c].is_distinct_from(insert.excluded[c]) for c in update))
    return insert.on_conflict_do_update(
        index_elements=list(key),
        set_={c: insert.excluded[c] for c in (*update, *touch)},
        where=changed if where is None else sa.and_(where, changed),
    )


def upsert(
    bind: Connection | Session,
    model: Any,
    rows: Iterable[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str],
    where: sa.ColumnElement[bool] | None = None,
) -> int:
    """Insert rows, or overwrite ``update`` columns where the natural ``key`` exists and differs
    (and the stored row meets ``where``, see :func:`update_if_changed`)."""
    table: sa.Table = model.__table__
    written = 0
    for batch in _batches(rows):
        stmt = update_if_changed(_insert(bind, table), table, key, update, where=where)
        bind.execute(stmt, batch)
        written += len(batch)
    return written


def replace_slice(
    bind: Connection | Session,
    model: Any,
    where: sa.ColumnElement[bool],
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    update: Sequence[str],
) -> int:
    """Make the rows matching ``where`` equal ``rows``: upsert those, delete the rest.

    Rows that survive keep their ids, so re-running a partition leaves the table byte-identical.
    Returns how many stale rows were deleted.
    """
    table: sa.Table = model.__table__
    wanted = {tuple(r[k] for k in key) for r in rows}
    existing = bind.execute(sa.select(table.c.id, *(table.c[k] for k in key)).where(where))
    stale = [row[0] for row in existing if tuple(row[1:]) not in wanted]
    for start in range(0, len(stale), BATCH):
        bind.execute(sa.delete(table).where(table.c.id.in_(stale[start : start + BATCH])))
    upsert(bind, model, rows, key, update)
    return len(stale)
