"""Benchmark: month-end reports for many teams, as the Dagster asset writes them.

    python benchmarks/reports.py [--teams 1000] [--transactions 120] [--db sqlite|postgres]

A fresh database (a temporary SQLite file, or a scratch PostgreSQL database dropped afterwards)
gets SIMULATED teams in eight locales and currencies (de_CH/CHF, ja_JP/JPY, ar_EG/EGP with an
Arabic name, en_US, de_DE, fr_FR, en_GB, en_IN), each with ``--transactions`` bookings in March
2026 and as many in February (the comparison), twenty invoices at every stage of payment,
matches decided and open, unmatched records and model calls. March's ``transactions`` days are
recorded as fetched on an ephemeral Dagster instance, the clock is pinned after every team's
March, and ``month_end_reports`` is materialized for 2026-03 with its three checks, in process
(one step renders every team: the "reports" pool, default limit 4, caps how many months run at
once, not the teams of one month). Then again: nothing changed, nothing written.

Printed: seconds per report, the step's and the checks' wall time, peak memory of the process
(``ru_maxrss``), average file size and pages; then proofs (PASS/FAIL): one report per team, the
checks passed, the re-run wrote nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The clock stands after every zone's March (Kiritimati to Pago Pago) before anything reads it.
NOW = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)
os.environ["BG_AGENTS_NOW"] = NOW.isoformat()

import dagster as dg  # noqa: E402

from benchmarks.ingest_and_metrics import PG_ADMIN, machine  # noqa: E402
from bg_agents.defs._shared.resources import AppDatabase  # noqa: E402
from bg_agents.inprocess import materialization_metadata, materialize  # noqa: E402
from bg_agents.lib.db import migrate  # noqa: E402
from bg_agents.lib.db.engine import get_engine, temporary_database  # noqa: E402
from bg_agents.lib.db.models import (  # noqa: E402
    Invoice,
    LLMCall,
    Match,
    Report,
    Team,
    Transaction,
    UnmatchedRecord,
)

MONTH = date(2026, 3, 1)
KEY = MONTH.isoformat()
TEAMS = [  # (zone, locale, currency, name)
    ("Europe/Zurich", "de_CH", "CHF", "Müller & Söhne AG {i}"),
    ("Asia/Tokyo", "ja_JP", "JPY", "株式会社ベンチ {i}"),
    ("Africa/Cairo", "ar_EG", "EGP", "شركة النيل {i}"),
    ("America/New_York", "en_US", "USD", "Acme Corp {i}"),
    ("Europe/Berlin", "de_DE", "EUR", "Bäckerei Groß {i}"),
    ("Europe/Paris", "fr_FR", "EUR", "Café Crème {i}"),
    ("Europe/London", "en_GB", "GBP", "Fish & Chips Ltd {i}"),
    ("Asia/Kolkata", "en_IN", "INR", "Chai Traders {i}"),
]
CATEGORIES = ["rent", "payroll", "software", "travel", "marketing", "utilities", "supplies",
              "insurance", "fees", "meals", "hardware", "legal"]  # fmt: skip
CHUNK = 20_000


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _insert(conn: sa.Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(table), rows[start : start + CHUNK])


def build(engine: sa.Engine, teams: int, per_month: int, seed: int) -> int:
    """The SIMULATED world in bulk; returns the number of transactions written."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        rows = [
            {"slug": f"bench-{i:05d}", "name": name.format(i=i), "time_zone": zone,
             "locale": locale, "base_currency": currency}
            for i in range(teams)
            for zone, locale, currency, name in [TEAMS[i % len(TEAMS)]]
        ]  # fmt: skip
        ids = [r.id for r in conn.execute(sa.insert(Team).returning(Team.id), rows)]
        currency_of = {tid: TEAMS[k % len(TEAMS)][2] for k, tid in enumerate(ids)}
        txs: list[dict[str, Any]] = []
        invoices: list[dict[str, Any]] = []
        for tid in ids:
            cur = currency_of[tid]
            scale = 150 if cur == "JPY" else 1
            for month, days in ((date(2026, 2, 1), 28), (MONTH, 31)):
                for n in range(per_month):
                    income = rng.random() < 0.3
                    amount = Decimal(rng.randint(500, 400_000 if income else 90_000)) / 100
                    amount = (amount * scale).quantize(Decimal("0.01"))
                    txs.append(
                        {"team_id": tid, "source": "bench", "external_id": f"{month:%m}-{n}",
                         "booking_date": month + timedelta(days=rng.randrange(days)),
                         "amount": amount if income else -amount, "currency": cur,
                         "base_amount": amount if income else -amount,
                         "description": "SIMULATED",
                         "category": "sales" if income else rng.choice(CATEGORIES)}
                    )  # fmt: skip
            for n in range(20):
                issued = date(2026, 1, 5) + timedelta(days=rng.randrange(85))
                status = rng.choice(["open", "open", "partially_paid", "paid", "paid", "void"])
                amount = Decimal(rng.randint(10_000, 500_000)) / 100 * scale
                invoices.append(
                    {"team_id": tid, "number": f"B-{n}", "amount": amount, "currency": cur,
                     "issue_date": issued, "due_date": issued + timedelta(days=30),
                     "status": status,
                     "amount_paid": {"paid": amount, "partially_paid": amount / 2}.get(
                         status, Decimal(0)),
                     "paid_date": issued + timedelta(days=rng.randint(5, 60))
                     if status == "paid" else None}
                )  # fmt: skip
        _insert(conn, Transaction, txs)
        _insert(conn, Invoice, invoices)
        tx_ids = dict(
            conn.execute(
                sa.select(Transaction.team_id, sa.func.min(Transaction.id)).group_by(
                    Transaction.team_id
                )
            ).all()
        )
        matches, unmatched, calls = [], [], []
        for tid in ids:
            for n in range(25):
                status = rng.choice(["auto"] * 6 + ["pending", "pending", "confirmed", "declined"])
                made = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(31 * 24))
                matches.append(
                    {"team_id": tid, "record_kind": "invoice", "record_id": n,
                     "transaction_id": tx_ids[tid] + n,
                     "decision": "suggestion" if status == "pending" else "link",
                     "status": status, "score": 0.9, "created_at": made,
                     "updated_at": made + timedelta(hours=rng.randint(0, 72))}
                )  # fmt: skip
            for n in range(6):
                unmatched.append(
                    {"team_id": tid, "record_kind": rng.choice(["receipt", "invoice", "payment"]),
                     "record_id": tid * 10 + n,
                     "record_date": MONTH - timedelta(days=rng.randint(-30, 120)),
                     "amount": Decimal("42.00"), "currency": currency_of[tid], "name": "SIMULATED"}
                )  # fmt: skip
            for n in range(4):
                calls.append(
                    {"agent": "insights", "team_id": tid, "model": "gpt-4o-mini",
                     "prompt_tokens": 900, "completion_tokens": 200, "latency_ms": 800,
                     "cost_usd": Decimal("0.0003") if n else None, "outcome": "ok",
                     "created_at": datetime(2026, 3, 2 + 7 * n, 7, tzinfo=UTC)}
                )  # fmt: skip
        _insert(conn, Match, matches)
        _insert(conn, UnmatchedRecord, unmatched)
        _insert(conn, LLMCall, calls)
    return len(txs)


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Wall time of each step of the run (the asset, each check), from its logged events."""
    started: dict[str, float] = {}
    out: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            out[event.step_key] = entry.timestamp - started[event.step_key]
    return out


def run(url: str, args: Any) -> bool:
    engine = get_engine(url)
    migrate.upgrade(engine)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    t0 = time.perf_counter()
    transactions = build(engine, args.teams, args.transactions, args.seed)
    build_s = time.perf_counter() - t0
    progress(f"world: {args.teams:,} teams, {transactions:,} transactions in {build_s:.0f} s")
    instance = dg.DagsterInstance.ephemeral()
    for k in range(31):  # March's bank days, fetched now (after every zone's cut-off)
        day = (MONTH + timedelta(days=k)).isoformat()
        instance.report_runless_asset_event(dg.AssetMaterialization("transactions", partition=day))
    app_db = AppDatabase(url=url)
    t0 = time.perf_counter()
    first = materialize(["month_end_reports"], instance=instance, partition_key=KEY, app_db=app_db)
    first_s = time.perf_counter() - t0
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    meta = materialization_metadata(first, "month_end_reports")
    steps = step_seconds(instance, first.run_id)
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in first.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    t0 = time.perf_counter()
    again = materialize(["month_end_reports"], instance=instance, partition_key=KEY, app_db=app_db)
    again_s = time.perf_counter() - t0
    meta2 = materialization_metadata(again, "month_end_reports")
    with engine.connect() as conn:
        count, avg_size, avg_pages, max_pages = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.avg(Report.size_bytes),
                sa.func.avg(Report.pages),
                sa.func.max(Report.pages),
            )
        ).one()
    asset_s = steps.get("month_end_reports", 0.0)
    check_s = {k: v for k, v in steps.items() if k != "month_end_reports"}
    rows = [
        ("reports written = teams", args.teams, meta["written"]),
        ("report rows = teams", args.teams, count),
        ("checks passed", 3, sum(checks.values())),
        ("re-run writes nothing", 0, meta2["written"]),
        ("re-run finds every report unchanged", args.teams, meta2["unchanged"]),
    ]
    lines = [
        f"machine: {machine()}",
        f"database: {engine.dialect.name}; load average {load:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; {time.perf_counter() - started:.0f} s in all",
        "",
        f"{args.teams:,} teams (SIMULATED, seed {args.seed}), {args.transactions} bookings each "
        f"in March and February ({transactions:,}), 20 invoices, 25 matches, 6 unmatched "
        f"records, 4 model calls each; written in {build_s:.0f} s",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| seconds per report (publish_month: figures, PDF, read back, store, row, event) "
        f"| {meta['seconds_per_report']:.3f} s |",
        f"| asset step, {args.teams:,} reports | {asset_s:.1f} s |",
        *(f"| check {k.split('.')[-1]} | {v:.1f} s |" for k, v in sorted(check_s.items())),
        f"| run wall time (asset + checks, in process) | {first_s:.1f} s |",
        f"| re-run, nothing changed (asset + checks) | {again_s:.1f} s |",
        f"| peak memory (ru_maxrss of the process) | {rss_mib:,.0f} MiB |",
        f"| average file size | {float(avg_size) / 1024:.1f} KiB |",
        f"| pages per report | {float(avg_pages):.2f} on average, {max_pages} at most |",
        "",
        "| proof | expected | found | |",
        "|---|---:|---:|---|",
        *(f"| {n} | {e:,} | {f:,} | {'PASS' if e == f else 'FAIL'} |" for n, e, f in rows),
    ]
    print("\n".join(lines))
    return all(e == f for _, e, f in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=1_000)
    parser.add_argument("--transactions", type=int, default=120, help="bookings per team-month")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    if args.teams < 1 or args.transactions < 1:
        parser.error("--teams and --transactions must be positive")
    with tempfile.TemporaryDirectory(prefix="bg-agents-bench-") as tmp:
        os.environ["BG_AGENTS_HOME"] = str(Path(tmp) / "home")
        os.environ.pop("BG_AGENTS_REPORTS_URL", None)
        os.environ.pop("BG_AGENTS_SMTP_URL", None)
        if args.db == "sqlite":
            ok = run(f"sqlite:///{tmp}/bench.db", args)
        else:
            with temporary_database(PG_ADMIN, "bg_agents_bench") as url:
                ok = run(url, args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
