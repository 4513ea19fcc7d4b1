"""Benchmark: model calls per 1,000 transactions on the categorization model path, cold and warm.

    PYTHONPATH=. python benchmarks/enrichment_model_calls.py [--days 10] [--distinct 300]

SIMULATED data: each day is 1,000 transactions whose descriptor keys are drawn from a repeat
distribution like a business's bank lines: 90 % from ``--distinct`` recurring merchants with Zipf
(s = 1.1) frequencies, 10 % one-off descriptors never seen before. Every transaction is assumed
unknown to the rules, so the numbers are an upper bound: real calls scale with the rules' miss
rate. The descriptors go through ``categorize_descriptors`` and the real openai client to a
scripted OpenAI-compatible server on 127.0.0.1 that answers one fixed category (every fifth
descriptor "unknown"), in a fresh SQLite database. Printed: calls for day 1 (cold cache), for
day 1 again (re-run), and per 1,000 transactions on the later days (warm cache).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bg_agents.defs.enrichment.model import categorize_descriptors  # noqa: E402
from bg_agents.lib.agents.backends import OpenAIBackend  # noqa: E402
from bg_agents.lib.db import migrate  # noqa: E402
from bg_agents.lib.db.engine import get_engine  # noqa: E402
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat, reply  # noqa: E402

PER_DAY = 1_000
ONE_OFF_SHARE = 0.10
ZIPF_S = 1.1
_SYLLABLES = ["ka", "lo", "mer", "tin", "sa", "vo", "ri", "den", "pax", "ul", "cor", "bi", "ne"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _key(rng: random.Random) -> str:
    """A SIMULATED normalized descriptor: two or three made-up words, lower case, no digits."""
    return " ".join(_word(rng) for _ in range(rng.randint(2, 3)))


class SimulatedDays:
    """Days of SIMULATED transactions' descriptor keys, from one seeded generator."""

    def __init__(self, distinct: int, seed: int = 17) -> None:
        self._rng = random.Random(seed)
        self.recurring = list(dict.fromkeys(_key(self._rng) for _ in range(distinct * 2)))
        self.recurring = self.recurring[:distinct]
        self._weights = [1 / rank**ZIPF_S for rank in range(1, len(self.recurring) + 1)]

    def day(self) -> list[str]:
        one_offs = sum(self._rng.random() < ONE_OFF_SHARE for _ in range(PER_DAY))
        keys = self._rng.choices(self.recurring, self._weights, k=PER_DAY - one_offs)
        keys += [f"{_key(self._rng)} {_word(self._rng)}" for _ in range(one_offs)]
        self._rng.shuffle(keys)
        return keys


def scripted_model(body: dict[str, Any]) -> Any:
    """A well-behaved model: every descriptor asked gets one answer of a fixed category."""
    content = body["messages"][-1]["content"]
    block = re.search(r'<data name="descriptors">\n(.*)\n</data>', content, re.S)
    asked = json.loads(block.group(1)) if block else []
    answers = [
        {
            "descriptor": key,
            "merchant": key.title(),
            "category": "unknown" if i % 5 == 4 else "office_supplies",
            "confidence": 0.9,
        }
        for i, key in enumerate(asked)
    ]
    return reply(json.dumps({"answers": answers}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=10, help="days of 1,000 transactions")
    parser.add_argument("--distinct", type=int, default=300, help="recurring merchants")
    parser.add_argument("--batch-size", type=int, default=40)
    args = parser.parse_args()

    engine = get_engine(f"sqlite:///{tempfile.mkdtemp(prefix='bench_enrich_')}/app.db")
    migrate.upgrade(engine)
    world = SimulatedDays(args.distinct)
    days = [world.day() for _ in range(max(2, args.days))]
    with ScriptedOpenAI(repeat(scripted_model)) as server:
        backend = OpenAIBackend(api_key="bench", base_url=server.base_url)

        def run(keys: list[str]) -> Any:
            _, stats = categorize_descriptors(engine, keys, backend, batch_size=args.batch_size)
            return stats

        cold = run(days[0])
        rerun = run(days[0])
        warm = [run(keys) for keys in days[1:]]
        requests = len(server.requests)

    distinct_day1 = len(set(days[0]))
    print(
        f"SIMULATED: {PER_DAY} transactions/day, {args.distinct} recurring merchants (Zipf "
        f"s={ZIPF_S}) + {ONE_OFF_SHARE:.0%} one-off descriptors, batch size {args.batch_size}"
    )
    print(
        f"day 1, cold cache: {distinct_day1} distinct descriptors, {cold.asked} asked, "
        f"{cold.calls} calls"
    )
    print(f"day 1 re-run: {rerun.calls} calls ({rerun.cache_hits} cache hits)")
    per_day = [s.calls for s in warm]
    asked = [s.asked for s in warm]
    print(
        f"days 2-{len(days)}, warm cache: calls per 1,000 transactions {per_day} "
        f"(mean {sum(per_day) / len(per_day):.1f}); descriptors asked per day "
        f"mean {sum(asked) / len(asked):.1f}"
    )
    hits = sum(s.cache_hits for s in warm)
    seen = set(days[0])
    cached_lines = 0
    for keys in days[1:]:
        cached_lines += sum(k in seen for k in keys)
        seen.update(keys)
    print(
        f"warm cache hit rate: {hits / (hits + sum(asked)):.1%} of distinct descriptors, "
        f"{cached_lines / (PER_DAY * (len(days) - 1)):.1%} of transactions"
    )
    print(f"requests the server saw: {requests}")  # every call counted above, nothing else


if __name__ == "__main__":
    main()
