"""Benchmark: enriching one booking day of all teams end to end, and re-running it.

    PYTHONPATH=. python benchmarks/enrichment_days.py [--lines N] [--teams N] [--db sqlite|postgres]

SIMULATED lines (benchmarks/enrichment_speed.py's generator: card, processor, transfer, debit,
fee and small-shop shapes with fresh store numbers and references) are written as one day's
transactions of ``--teams`` teams into a fresh database; then ``enrich_days`` runs on that day
twice, offline (rules and the model's empty cache): the first run writes every line's
enrichment, the second decides them again and writes nothing. Prints both times and rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from benchmarks.enrichment_speed import generate  # noqa: E402
from benchmarks.ingest_and_metrics import machine  # noqa: E402
from bg_agents.defs.enrichment.service import enrich_days  # noqa: E402
from bg_agents.lib.db.engine import get_engine, temporary_database  # noqa: E402
from bg_agents.lib.db.migrate import upgrade  # noqa: E402
from bg_agents.lib.db.models import Team, Transaction  # noqa: E402

DAY = date(2026, 3, 2)
ADMIN_URL = os.environ.get(
    "BG_AGENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with temporary_database(ADMIN_URL, "bench_enrich") as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"


def fill(engine: sa.Engine, lines: int, teams: int) -> None:
    """One day of ``lines`` SIMULATED transactions spread over ``teams`` teams."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            [
                {"slug": f"t{i:04d}", "name": f"Team {i}", "time_zone": "UTC",
                 "base_currency": "EUR"}
                for i in range(teams)
            ],
        )  # fmt: skip
        ids = conn.scalars(sa.select(Team.id).order_by(Team.id)).all()
        rows = [
            {"team_id": ids[n % teams], "source": "bench", "external_id": f"x{n}",
             "booking_date": DAY, "amount": Decimal("12.50") if incoming else Decimal("-12.50"),
             "currency": "EUR", "description": text}
            for n, (text, incoming) in enumerate(generate(lines, seed=7))
        ]  # fmt: skip
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(Transaction), rows[start : start + 5000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with database(args.db) as url:
        engine = get_engine(url)
        upgrade(engine)
        fill(engine, args.lines, args.teams)
        for label in ("first run", "re-run"):
            t0 = time.perf_counter()
            report = enrich_days(engine, DAY, DAY, None)
            seconds = time.perf_counter() - t0
            by_source = report.days[DAY]
            print(
                f"{args.db} {label}: {report.transactions:,} lines in {seconds:.1f} s "
                f"({report.transactions / seconds:,.0f}/s), written {report.written:,}, "
                f"by source {dict((k, v) for k, v in by_source.items() if v)}"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
