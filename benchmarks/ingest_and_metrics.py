"""Benchmark: seed + ingest throughput, and weekly_metrics vs one hand-written SQL GROUP BY.

    python benchmarks/ingest_and_metrics.py [--teams 1000] [--weeks 52] [--db sqlite|postgres]

It builds a fresh database (a temporary SQLite file, or a scratch PostgreSQL database that it
drops afterwards), seeds SIMULATED data, ingests every day through the same code the
``transactions`` asset runs, then times ``weekly_metrics`` for one week across all teams against a
hand-written SQL query that computes the same per-team figures over the same rows. It prints the
machine, the database, the numbers and the ratio (target: at most 2x).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine, temporary_database
from bg_agents.lib.db.models import SimulatedBankFeedRow
from bg_agents.lib.weeks import last_complete_week
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world

PG_ADMIN = os.environ.get(
    "BG_AGENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

# The hand-written baseline: the figures weekly_metrics stores (per team and category, this week
# and last week: income, expenses, counts) from one GROUP BY over the same rows, as an analyst
# would write it. Team totals are sums of these rows.
BASELINE_SQL = """
SELECT team_id, COALESCE(category, 'uncategorized'),
  SUM(CASE WHEN booking_date >= :monday AND base_amount > 0 THEN base_amount ELSE 0 END),
  SUM(CASE WHEN booking_date >= :monday AND base_amount < 0 THEN -base_amount ELSE 0 END),
  SUM(CASE WHEN booking_date >= :monday AND base_amount > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN booking_date >= :monday AND base_amount < 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN booking_date >= :monday AND base_amount IS NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN booking_date < :monday AND base_amount > 0 THEN base_amount ELSE 0 END),
  SUM(CASE WHEN booking_date < :monday AND base_amount < 0 THEN -base_amount ELSE 0 END)
FROM transactions
WHERE booking_date >= :prev_monday AND booking_date < :next_monday
GROUP BY team_id, COALESCE(category, 'uncategorized')
"""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` runs (after one warm-up run)."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run(url: str, teams: int, weeks: int, repeat: int) -> None:
    engine = get_engine(url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        version = conn.execute(
            sa.text(
                "select sqlite_version()"
                if engine.dialect.name == "sqlite"
                else "show server_version"
            )
        ).scalar_one()
    print(f"machine:  {machine()}")
    print(f"database: {engine.dialect.name} {version}")
    end = last_complete_week(date.today()) + timedelta(days=6)

    t0 = time.perf_counter()
    world = generate_world(teams=teams, weeks=weeks, seed=42, end=end)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    written = sum(write_world(engine, world).values())
    t_write = time.perf_counter() - t0
    feed_rows = len(world.bank_feed)
    del world
    print(
        f"seed:     {feed_rows:,} bank rows generated in {t_gen:.1f}s "
        f"({feed_rows / t_gen:,.0f} rows/s); all {written:,} rows of the world written in "
        f"{t_write:.1f}s ({written / t_write:,.0f} rows/s)"
    )

    with engine.connect() as conn:
        days = conn.scalars(
            sa.select(SimulatedBankFeedRow.value_date).distinct().order_by("value_date")
        ).all()
    t0 = time.perf_counter()
    inserted = 0
    for i, day in enumerate(days, 1):
        inserted += ingest_day(engine, day).inserted
        if i % 30 == 0 or i == len(days):
            rate = inserted / (time.perf_counter() - t0)
            print(
                f"  ingest {i}/{len(days)} days, {inserted:,} rows, {rate:,.0f} rows/s", flush=True
            )
    t_ingest = time.perf_counter() - t0
    print(
        f"ingest:   {inserted:,} transactions in {t_ingest:.1f}s "
        f"({inserted / t_ingest:,.0f} rows/s)"
    )
    print(f"seed+ingest: {inserted / (t_gen + t_write + t_ingest):,.0f} rows/s end to end")

    monday = last_complete_week(date.today())
    params = {
        "monday": monday,
        "prev_monday": monday - timedelta(days=7),
        "next_monday": monday + timedelta(days=7),
    }

    def baseline() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(BASELINE_SQL), params).all()

    t_metrics = timed(lambda: build_weekly_metrics(engine, monday), repeat)
    t_sql = timed(baseline, repeat)
    with engine.connect() as conn:
        week_rows = conn.execute(
            sa.text(
                "select count(*) from transactions where booking_date >= :prev_monday "
                "and booking_date < :next_monday"
            ),
            params,
        ).scalar_one()
    print(f"weekly_metrics {monday}: {teams:,} teams, {week_rows:,} rows read, median of {repeat}")
    print(f"  hand-written SQL GROUP BY (read only):  {t_sql * 1000:7.1f} ms")
    print(
        f"  weekly_metrics (compute + upsert):      {t_metrics * 1000:7.1f} ms  "
        f"ratio {t_metrics / t_sql:.2f}x (target <= 2x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args.teams, args.weeks, args.repeat)
        return
    with temporary_database(PG_ADMIN, "bg_agents_bench") as url:
        run(url, args.teams, args.weeks, args.repeat)


if __name__ == "__main__":
    main()
