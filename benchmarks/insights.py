"""Benchmark: weekly insights for many teams, offline and through a scripted LLM with latency.

    PYTHONPATH=. python benchmarks/insights.py [--teams 10000] [--delay 0.5] [--concurrency 8]

Builds a fresh SQLite database with SIMULATED teams (two weeks of transactions, ingested, weekly
metrics computed), then generates, validates, stores and delivers every team's insight for the
last week, slot by slot, as the delivery sensor's runs would:
1. with the offline backend: total time;
2. through the real openai client against a scripted OpenAI-compatible server on 127.0.0.1 that
   answers each request after ``--delay`` seconds, at ``--concurrency`` parallel calls per run:
   wall time against the ideal ``teams x delay / concurrency`` (target ratio at most 1.25).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest_and_metrics import machine  # noqa: E402
from bg_agents.defs.ingestion.transactions import ingest_day  # noqa: E402
from bg_agents.defs.insights.service import generate_slot  # noqa: E402
from bg_agents.defs.metrics.service import build_weekly_metrics  # noqa: E402
from bg_agents.lib.agents.backends import OfflineBackend, OpenAIBackend  # noqa: E402
from bg_agents.lib.db import migrate  # noqa: E402
from bg_agents.lib.db.engine import get_engine  # noqa: E402
from bg_agents.lib.delivery_slots import SLOTS, due_at, slot_for  # noqa: E402
from bg_agents.simulate.store import write_world  # noqa: E402
from bg_agents.simulate.world import generate_world  # noqa: E402
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat, reply, slow  # noqa: E402

END = date(2026, 11, 22)  # a Sunday
WEEK = END - timedelta(days=6)


def scripted_model(body: dict[str, Any]) -> Any:
    """A well-behaved model: the top facts' own sentences, as bullets (always valid)."""
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
    payload = json.loads(prompt.split('<data name="facts">', 1)[1].split("</data>", 1)[0])
    return reply("\n".join(f"- {f['sentence']}" for f in payload["facts"][:3]))


def run_all(engine: Any, backend: Any, slots: list[str], concurrency: int) -> tuple[float, dict]:
    paths: dict[str, int] = {}
    started = time.perf_counter()
    for slot in slots:
        result = generate_slot(
            engine,
            WEEK,
            slot,
            backend,
            now=due_at(WEEK, slot) + timedelta(minutes=1),
            concurrency=concurrency,
        )
        for g in result.generated:
            paths[g.path] = paths.get(g.path, 0) + 1
    return time.perf_counter() - started, paths


def reset(engine: Any) -> None:
    with engine.begin() as conn:
        for table in ("notifications", "llm_calls", "insights"):
            conn.execute(sa.text(f"DELETE FROM {table}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(f"machine:  {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(engine)
        t0 = time.perf_counter()
        world = generate_world(teams=args.teams, weeks=2, seed=11, end=END)
        write_world(engine, world)
        day = world.start
        while day <= END:
            ingest_day(engine, day)
            day += timedelta(days=1)
        for monday in (WEEK - timedelta(days=7), WEEK):
            build_weekly_metrics(engine, monday)
        zones = {t["time_zone"] for t in world.teams}
        slots = sorted({slot_for(WEEK, z) for z in zones}, key=SLOTS.index)
        print(
            f"setup:    {args.teams:,} teams in {len(slots)} delivery slots, "
            f"{len(world.bank_feed):,} bank rows ({time.perf_counter() - t0:.0f}s)"
        )

        seconds, paths = run_all(engine, OfflineBackend(), slots, args.concurrency)
        print(
            f"offline:  {args.teams:,} insights generated, validated, stored and delivered in "
            f"{seconds:.1f}s ({args.teams / seconds:,.0f} teams/s); paths {paths}"
        )

        reset(engine)
        with ScriptedOpenAI(repeat(slow(args.delay, scripted_model))) as server:
            backend = OpenAIBackend(api_key="bench", base_url=server.base_url)
            seconds, paths = run_all(engine, backend, slots, args.concurrency)
            calls = len(server.requests)
        ideal = args.teams * args.delay / args.concurrency
        print(
            f"llm:      {calls:,} calls at {args.delay}s each, concurrency {args.concurrency}: "
            f"{seconds:.1f}s wall vs ideal {ideal:.1f}s, ratio {seconds / ideal:.2f} "
            f"(target <= 1.25); paths {paths}"
        )


if __name__ == "__main__":
    main()
