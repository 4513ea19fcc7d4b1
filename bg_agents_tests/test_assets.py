"""Each asset materializes a partition on SQLite and PostgreSQL, idempotently and race-free."""

import multiprocessing as mp

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import (
    QuarantinedRow,
    SimulatedBankFeedRow,
    Transaction,
    UnmatchedRecord,
    WeeklyMetric,
)
from bg_agents_tests.helpers import dump, materialize, metadata, seed

DAY = "2026-03-04"
WEEK = "2026-03-02"


def _count(engine, model, *where) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar()


@pytest.mark.integration
def test_every_asset_materializes_a_partition_and_a_rerun_changes_nothing(engine, db_url) -> None:  # type: ignore[no-untyped-def]
    seed(engine)
    result = materialize(db_url, ["transactions", "unmatched_records"], DAY)
    assert result.success
    tx_meta = metadata(result, "transactions")
    with engine.connect() as conn:
        feed_rows = conn.execute(
            sa.select(sa.func.count()).where(SimulatedBankFeedRow.value_date == DAY)
        ).scalar()
    assert feed_rows > 0
    assert tx_meta["received"] == feed_rows
    assert tx_meta["inserted"] + tx_meta["quarantined"] == feed_rows
    assert _count(engine, Transaction) == tx_meta["inserted"]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    # (The run also executes the freshness checks declared on the asset; they judge the clock.)
    assert {k: checks[k] for k in ("no_duplicate_natural_keys", "finite_amounts")} == {
        "no_duplicate_natural_keys": True,
        "finite_amounts": True,
    }
    assert (
        _count(engine, UnmatchedRecord)
        == metadata(result, "unmatched_records")["dagster/row_count"]
    )

    for day in ("2026-02-23", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27",
                "2026-02-28", "2026-03-01", "2026-03-02", "2026-03-03", "2026-03-05",
                "2026-03-06", "2026-03-07", "2026-03-08"):  # fmt: skip
        assert materialize(db_url, ["transactions"], day).success
    weekly = materialize(db_url, ["weekly_metrics"], WEEK)
    assert weekly.success
    weekly_checks = {c.check_name: c.passed for c in weekly.get_asset_check_evaluations()}
    assert {k: weekly_checks[k] for k in ("totals_match_transactions", "every_team_measured")} == {
        "totals_match_transactions": True,
        "every_team_measured": True,
    }
    assert _count(engine, WeeklyMetric) == 3  # one row per team

    before = dump(engine)
    again = materialize(db_url, ["transactions", "unmatched_records"], DAY)
    assert metadata(again, "transactions")["inserted"] == 0
    assert materialize(db_url, ["weekly_metrics"], WEEK).success
    assert dump(engine) == before


def test_schema_out_of_date_fails_the_run_with_the_fix(sqlite_url) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(dg.DagsterResourceFunctionError) as info:
        materialize(sqlite_url, ["transactions"], DAY)
    assert "bg-agents db upgrade" in str(info.value.__cause__ or info.value)


# Each racer runs the ingest partition, then the weekly one; both racers start each run together.
ROUNDS = ((["transactions", "unmatched_records"], DAY), (["weekly_metrics"], WEEK))


def _race(url: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    from bg_agents_tests.helpers import materialize as run

    for names, key in ROUNDS:
        barrier.wait(timeout=120)  # both start this run at the same moment (or fail, not hang)
        results.put((key, run(url, names, key).success))


@pytest.mark.postgres
@pytest.mark.integration
def test_two_processes_materializing_the_same_partition_create_no_duplicates(
    postgres_url: str,
) -> None:
    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    seed(engine, teams=40, weeks=2)
    ctx = mp.get_context("spawn")
    # One pair of processes for both rounds: starting a process (importing Dagster) costs seconds.
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(postgres_url, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = sorted(results.get(timeout=120) for _ in range(2 * len(ROUNDS)))
    for p in procs:
        p.join(timeout=30)
    assert outcomes == sorted((key, True) for _, key in ROUNDS for _ in procs)
    with engine.connect() as conn:
        feed_rows = conn.execute(
            sa.select(sa.func.count()).where(SimulatedBankFeedRow.value_date == DAY)
        ).scalar()
        dupes = conn.execute(
            sa.select(Transaction.team_id)
            .group_by(Transaction.team_id, Transaction.source, Transaction.external_id)
            .having(sa.func.count() > 1)
        ).all()
    quarantined = _count(engine, QuarantinedRow)
    assert dupes == []
    assert _count(engine, Transaction) + quarantined == feed_rows
    assert _count(engine, WeeklyMetric) == 40
