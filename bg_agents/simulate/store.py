"""Write a SIMULATED :class:`~bg_agents.simulate.world.World` to the application database.

Every table is written with :func:`~bg_agents.lib.db.upsert.insert_missing` on its natural key, so
seeding twice, or resuming a seed that died half way, never duplicates a row. Natural keys in the
world (team slug, customer external id) become database ids here, the only place that needs them.
Large tables are committed in chunks: a crash loses at most one chunk, which a re-run fills in.
A recurring invoice's occurrences name their template by number; its id is filled in once every
invoice is written (in the world's order, so ids are as before), and a re-run fills in any missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.lib.db.models import (
    Customer,
    Document,
    Invoice,
    SimulatedBankFeedRow,
    SimulatedGroundTruth,
    Team,
    User,
)
from bg_agents.lib.db.upsert import insert_missing
from bg_agents.simulate.world import Row, World

# Rows per transaction for the big tables: large enough that commits cost nothing, small enough
# that an interrupted seed keeps most of its work.
CHUNK = 100_000
# Ids are looked up with IN lists; stay far below SQLite's bound-parameter limit.
_LOOKUP_BATCH = 500


def write_world(engine: Engine, world: World) -> dict[str, int]:
    """Insert every row of ``world`` that is not in the database yet; return new rows per table."""
    new: dict[str, int] = {}
    with engine.begin() as conn:
        new[Team.__tablename__] = insert_missing(conn, Team, world.teams, key=["slug"])
        team_ids = _team_ids(conn, [t["slug"] for t in world.teams])
        users = [_with_team(u, team_ids) for u in world.users]
        new[User.__tablename__] = insert_missing(conn, User, users, key=["team_id", "email"])
        customers = [_with_team(c, team_ids) for c in world.customers]
        new[Customer.__tablename__] = insert_missing(
            conn, Customer, customers, key=["team_id", "external_id"]
        )
        customer_ids = _customer_ids(conn, list(team_ids.values()))

    occurrences: list[Row] = []  # team, occurrence number, template number

    def invoice(row: Row) -> Row:
        out = _with_team(row, team_ids)
        team_id = out["team_id"]
        out["customer_id"] = customer_ids[team_id, out.pop("customer_external_id")]
        if (template := out.pop("template_number", None)) is not None:
            occurrences.append({"t": team_id, "n": out["number"], "tn": template})
        return out

    new[Invoice.__tablename__] = _chunked(
        engine, Invoice, map(invoice, world.invoices), ["team_id", "number"]
    )
    _link_occurrences(engine, occurrences)
    new[Document.__tablename__] = _chunked(
        engine,
        Document,
        (_with_team(d, team_ids) for d in world.documents),
        ["team_id", "external_id"],
    )
    # The feed stands in for an external bank, so it keeps the slug, not a foreign key.
    new[SimulatedBankFeedRow.__tablename__] = _chunked(
        engine, SimulatedBankFeedRow, world.bank_feed, ["team_slug", "external_id"]
    )
    new[SimulatedGroundTruth.__tablename__] = _chunked(
        engine,
        SimulatedGroundTruth,
        (_with_team(g, team_ids) for g in world.ground_truth),
        ["team_id", "record_kind", "record_external_id", "transaction_ref"],
    )
    return new


def _link_occurrences(engine: Engine, occurrences: list[Row]) -> None:
    """Set each occurrence's ``template_id`` from its template's number, where still unset."""
    templates: dict[tuple[int, str], int] = {}
    team_ids = sorted({o["t"] for o in occurrences})
    with engine.connect() as conn:
        for i in range(0, len(team_ids), _LOOKUP_BATCH):
            query = sa.select(Invoice.team_id, Invoice.number, Invoice.id).where(
                Invoice.team_id.in_(team_ids[i : i + _LOOKUP_BATCH]),
                Invoice.recurrence.is_not(None),
                Invoice.template_id.is_(None),
            )
            templates.update(((t, n), id_) for t, n, id_ in conn.execute(query))
    table = Invoice.__table__
    link = (
        sa.update(table)
        .where(
            table.c.team_id == sa.bindparam("t"),
            table.c.number == sa.bindparam("n"),
            table.c.template_id.is_(None),
        )
        .values(template_id=sa.bindparam("tid"))
    )
    rows = [{**o, "tid": templates[o["t"], o["tn"]]} for o in occurrences]
    for chunk in _chunks(rows, CHUNK):
        with engine.begin() as conn:
            conn.execute(link, [{k: r[k] for k in ("t", "n", "tid")} for r in chunk])


def _with_team(row: Row, team_ids: dict[str, int]) -> Row:
    out = dict(row)
    out["team_id"] = team_ids[out.pop("team_slug")]
    return out


def _chunked(engine: Engine, model: Any, rows: Iterable[Row], key: Sequence[str]) -> int:
    inserted = 0
    for chunk in _chunks(rows, CHUNK):
        with engine.begin() as conn:
            inserted += insert_missing(conn, model, chunk, key=key)
    return inserted


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _team_ids(conn: Connection, slugs: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i in range(0, len(slugs), _LOOKUP_BATCH):
        batch = slugs[i : i + _LOOKUP_BATCH]
        ids.update(conn.execute(sa.select(Team.slug, Team.id).where(Team.slug.in_(batch))).all())
    return ids


def _customer_ids(conn: Connection, team_ids: list[int]) -> dict[tuple[int, str], int]:
    ids: dict[tuple[int, str], int] = {}
    for i in range(0, len(team_ids), _LOOKUP_BATCH):
        batch = team_ids[i : i + _LOOKUP_BATCH]
        query = sa.select(Customer.team_id, Customer.external_id, Customer.id).where(
            Customer.team_id.in_(batch)
        )
        ids.update(((team_id, ext), id_) for team_id, ext, id_ in conn.execute(query))
    return ids
