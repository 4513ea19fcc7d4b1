"""``transaction_enrichment`` through Dagster (SQLite and PostgreSQL): a 3-day single-run backfill
gives each day its own figures, a re-run says ``changed: false`` with the same figures, and the
checks pass on what the agent stores and block a category outside the taxonomy."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents import inprocess
from bg_agents.defs._shared.resources import LLM, AppDatabase
from bg_agents.defs.enrichment.taxonomy import CATEGORIES, SOURCES
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.lib.db.models import Transaction, TransactionEnrichment
from bg_agents_tests.enrichment.test_service import set_by_person
from bg_agents_tests.helpers import WORLD_END, seed

DAYS = [WORLD_END - timedelta(days=4 - i) for i in range(3)]


def backfill(db_url: str, instance: dg.DagsterInstance, raise_on_error: bool = True):  # type: ignore[no-untyped-def]
    return inprocess.materialize(
        ["transaction_enrichment"], instance=instance,
        partition_range=(DAYS[0].isoformat(), DAYS[-1].isoformat()),
        app_db=AppDatabase(url=db_url), llm_resource=LLM(backend="offline"),
        raise_on_error=raise_on_error,
    )  # fmt: skip


def stored_by_day(engine: Engine) -> dict[str, dict[str, int]]:
    e = TransactionEnrichment
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.booking_date, e.source, sa.func.count()).group_by(e.booking_date, e.source)
        ).all()
    out: dict[str, dict[str, int]] = {}
    for day, source, n in rows:
        out.setdefault(day.isoformat(), dict.fromkeys(SOURCES, 0))[source] = n
    return out


def checks(result) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.mark.integration
def test_each_day_of_a_backfill_carries_its_own_figures(engine: Engine, db_url: str) -> None:
    seed(engine, teams=2, weeks=1)
    for day in DAYS:
        ingest_day(engine, day)
    instance = dg.DagsterInstance.ephemeral()
    result = backfill(db_url, instance)
    assert result.success

    days = inprocess.partition_metadata(result, "transaction_enrichment")
    stored = stored_by_day(engine)
    with engine.connect() as conn:
        booked = dict(
            conn.execute(
                sa.select(Transaction.booking_date, sa.func.count())
                .where(Transaction.booking_date.between(DAYS[0], DAYS[-1]))
                .group_by(Transaction.booking_date)
            ).all()
        )
    assert set(days) == {d.isoformat() for d in DAYS} == set(stored)
    assert {k: m["dagster/row_count"] for k, m in days.items()} == {
        d.isoformat(): n for d, n in booked.items()
    }
    assert len({m["dagster/row_count"] for m in days.values()}) > 1  # not one total repeated
    for key, figures in days.items():
        assert {s: figures[s] for s in SOURCES} == stored[key]
        share = 1 - stored[key]["none"] / sum(stored[key].values())
        assert figures["categorized_share"] == pytest.approx(share, abs=1e-4)
        assert figures["changed"] is True and figures["run/days"] == 3
    assert checks(result) == {"categories_in_taxonomy": True, "sources_known": True}
    with engine.connect() as conn:
        categories = set(conn.execute(sa.select(TransactionEnrichment.category)).scalars())
    assert categories - {None} <= set(CATEGORIES)

    again = inprocess.partition_metadata(backfill(db_url, instance), "transaction_enrichment")
    assert all(m["changed"] is False and m["run/written"] == 0 for m in again.values())
    assert {k: m["dagster/row_count"] for k, m in again.items()} == {
        k: m["dagster/row_count"] for k, m in days.items()
    }


@pytest.mark.integration
def test_a_category_outside_the_taxonomy_fails_the_blocking_check(
    engine: Engine, db_url: str
) -> None:
    seed(engine, teams=1, weeks=1)
    ingest_day(engine, DAYS[1])
    with engine.connect() as conn:
        tx = conn.scalar(sa.select(sa.func.min(Transaction.id)))
    set_by_person(engine, tx, "crypto")  # as if someone had stored it past the taxonomy
    result = backfill(db_url, dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert checks(result) == {"categories_in_taxonomy": False, "sources_known": True}
    (failed,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "categories_in_taxonomy"
    ]
    assert failed.metadata["unknown"].value == 1
    assert failed.severity == dg.AssetCheckSeverity.ERROR
