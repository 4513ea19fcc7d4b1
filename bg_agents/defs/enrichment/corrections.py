"""A person's correction of one transaction's category, and what the team learns from it.

The transaction's enrichment becomes ``person`` (never overwritten by the agent). If the line has
a merchant, the team learns it (``merchant_categories``): the merchant's transactions booked on
or after the corrected one follow as ``learned``, those already enriched at once and the rest on
their day's next run. A later correction of the same merchant changes the category and never
narrows what follows (the earliest corrected day stays the start). Earlier transactions are not
changed behind anyone's back: those whose category differs are returned, offered for correction
(only enriched ones: a line is known to be the merchant's once its day has been enriched).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.defs.enrichment.rules import recognize
from bg_agents.defs.enrichment.service import clip, learned_detail, write_enrichments
from bg_agents.defs.enrichment.taxonomy import check_category
from bg_agents.lib import clock
from bg_agents.lib.db.categories import PEOPLE, effective_category, with_enrichment
from bg_agents.lib.db.models import MerchantCategory, Team, Transaction, TransactionEnrichment
from bg_agents.lib.db.upsert import upsert

DECIDER_LIMIT = 320  # merchant_categories.decided_by


@dataclass(frozen=True)
class Offered:
    """An earlier transaction of the merchant whose category differs: for a person to decide."""

    transaction_id: int
    booking_date: date
    description: str
    category: str  # its effective category now ('uncategorized' if none)


@dataclass(frozen=True)
class CorrectionResult:
    transaction_id: int
    team: str
    category: str
    previous: str  # the transaction's effective category before the correction
    merchant: str | None
    merchant_key: str | None  # None: nothing to learn, only this transaction changed
    learned_since: date | None  # the merchant's transactions from this day on follow
    followed: list[int] = field(default_factory=list)  # already-enriched ones changed now
    offered: list[Offered] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["learned_since"] = self.learned_since.isoformat() if self.learned_since else None
        for item in out["offered"]:
            item["booking_date"] = item["booking_date"].isoformat()
        return out


def categorize(
    engine: Engine,
    team_slug: str,
    transaction_id: int,
    category: str,
    decided_by: str | None = None,
    *,
    now: Callable[[], datetime] = clock.now,
) -> CorrectionResult:
    """Record that ``transaction_id`` of ``team_slug`` belongs in ``category`` (see the module
    docstring). ValueError, naming what is wrong, for a category outside the taxonomy, an
    unknown team or a transaction that is not the team's."""
    check_category(category)
    stamp = now()
    with engine.begin() as conn:
        team_id = conn.execute(sa.select(Team.id).where(Team.slug == team_slug)).scalar()
        if team_id is None:
            raise ValueError(f"unknown team {team_slug!r}; `bg-agents teams` lists them")
        t = Transaction
        line = conn.execute(
            with_enrichment(
                sa.select(t.id, t.team_id, t.booking_date, t.description, t.counterparty,
                          t.amount, effective_category().label("current"))
            ).where(t.id == transaction_id)
        ).one_or_none()  # fmt: skip
        if line is None or line.team_id != team_id:
            # The same words whether it exists elsewhere or not: another team's data stays unseen.
            raise ValueError(
                f"transaction {transaction_id} is not a transaction of team {team_slug!r}"
            )
        rec = recognize(line.description or "", line.counterparty, line.amount > 0)
        key, merchant = clip(rec.merchant_key), clip(rec.merchant)
        write_enrichments(
            conn,
            [
                {
                    "transaction_id": line.id, "team_id": team_id,
                    "booking_date": line.booking_date, "merchant": merchant,
                    "merchant_key": key, "category": category, "confidence": 1.0,
                    "source": "person", "detail": clip(decided_by), "enriched_at": stamp,
                }
            ],
            over_person=True,
        )  # fmt: skip
        result = CorrectionResult(line.id, team_slug, category, line.current, merchant, key, None)
        if key is None:
            return result
        since, taught_by = _learn(conn, team_id, key, category, line, decided_by, stamp)
        followed = _follow(conn, team_id, key, category, since, taught_by, line.id, stamp)
        offered = _offer(conn, team_id, key, category, since)
    return CorrectionResult(
        line.id, team_slug, category, line.current, merchant, key, since, followed, offered
    )


def _learn(
    conn: Connection,
    team_id: int,
    key: str,
    category: str,
    line: Any,
    decided_by: str | None,
    stamp: datetime,
) -> tuple[date, int]:
    """Store the team's category for the merchant; (the day it applies from, the transaction
    that day was corrected on)."""
    mc = MerchantCategory
    earlier = conn.execute(
        sa.select(Transaction.id, Transaction.booking_date)
        .join(mc, mc.transaction_id == Transaction.id)
        .where(mc.team_id == team_id, mc.merchant_key == key)
    ).one_or_none()
    start_tx, since = line.id, line.booking_date
    if earlier is not None and earlier.booking_date < since:
        start_tx, since = earlier.id, earlier.booking_date
    upsert(
        conn,
        mc,
        [
            {
                "team_id": team_id,
                "merchant_key": key,
                "category": category,
                "transaction_id": start_tx,
                "decided_by": decided_by[:DECIDER_LIMIT] if decided_by else None,
                "decided_at": stamp,
            }
        ],
        ["team_id", "merchant_key"],
        ["category", "transaction_id", "decided_by", "decided_at"],
    )
    return since, start_tx


def _follow(
    conn: Connection,
    team_id: int,
    key: str,
    category: str,
    since: date,
    taught_by: int,
    corrected: int,
    stamp: datetime,
) -> list[int]:
    """Move the merchant's already-enriched later transactions (never a person's) to the
    learned category; returns their ids."""
    e = TransactionEnrichment
    detail = learned_detail(taught_by)
    values = {"category": category, "confidence": 1.0, "source": "learned", "detail": detail}
    stale = sa.or_(*(e.__table__.c[c].is_distinct_from(v) for c, v in values.items()))
    rows = conn.execute(
        sa.update(e)
        .where(
            e.team_id == team_id,
            e.merchant_key == key,
            e.booking_date >= since,
            e.source != "person",
            e.transaction_id != corrected,
            stale,
        )
        .values(**values, enriched_at=stamp)
        .returning(e.transaction_id)
    )
    return sorted(r[0] for r in rows)


def _offer(conn: Connection, team_id: int, key: str, category: str, since: date) -> list[Offered]:
    """The merchant's transactions before ``since`` whose effective category differs."""
    t, e = Transaction, TransactionEnrichment
    current = effective_category()
    rows = conn.execute(
        with_enrichment(sa.select(t.id, t.booking_date, t.description, current))
        .where(
            t.team_id == team_id,
            e.merchant_key == key,
            t.booking_date < since,
            current != category,
        )
        .order_by(t.booking_date, t.id)
    )
    return [Offered(tx_id, day, text or "", cat) for tx_id, day, text, cat in rows]


def corrected_days(engine: Engine, after: str | None, until: datetime) -> dict[date, datetime]:
    """Booking day -> newest ``enriched_at`` of its rows that people decided (``person`` or
    ``learned``) in (``after``, ``until``]; ``after``: an ISO instant (a sensor's cursor), None
    since the start.

    A correction writes the database directly; the days it touched must be materialized again
    so the weeks counting them are recomputed (enrichment's correction sensor asks for them).
    """
    e = TransactionEnrichment
    query = (
        sa.select(e.booking_date, sa.func.max(e.enriched_at))
        .where(e.source.in_(PEOPLE), e.enriched_at <= until)
        .group_by(e.booking_date)
    )
    if after is not None:
        query = query.where(e.enriched_at > datetime.fromisoformat(after))
    with engine.connect() as conn:
        return {day: newest for day, newest in conn.execute(query)}
