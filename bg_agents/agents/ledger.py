"""The call ledger: every model call as a row of ``llm_calls``, with its estimated cost."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.agents.backends import CallRecord
from bg_agents.db.models import LLMCall

# USD per million tokens (input, output), checked 2026-11 against the providers' price pages.
# An unknown model (a local server, a new name) is recorded at cost 0 with its tokens.
PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "offline": (Decimal(0), Decimal(0)),
}


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    # Providers answer with dated names ("gpt-4o-mini-2024-07-18"): match the longest prefix.
    name = max((m for m in PRICES if model.startswith(m)), key=len, default=None)
    if name is None:
        return Decimal(0)
    inp, out = PRICES[name]
    cost = (inp * prompt_tokens + out * completion_tokens) / 1_000_000
    return cost.quantize(Decimal("0.0001"))


@dataclass
class Ledger:
    """Collects the calls of one agent run and writes them to the database."""

    engine: Engine | None
    agent: str
    team_id: int | None = None
    run_id: str | None = None
    partition_key: str | None = None
    calls: list[CallRecord] = field(default_factory=list)

    def __call__(self, call: CallRecord) -> None:
        self.calls.append(call)
        if self.engine is None:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(LLMCall),
                {
                    "agent": self.agent,
                    "team_id": self.team_id,
                    "model": call.model,
                    "prompt_tokens": call.usage.prompt_tokens,
                    "completion_tokens": call.usage.completion_tokens,
                    "latency_ms": call.latency_ms,
                    "cost_usd": cost_usd(
                        call.model, call.usage.prompt_tokens, call.usage.completion_tokens
                    ),
                    "outcome": call.outcome,
                    "run_id": self.run_id,
                    "partition_key": self.partition_key,
                },
            )

    @property
    def total_cost(self) -> Decimal:
        return sum(
            (
                cost_usd(c.model, c.usage.prompt_tokens, c.usage.completion_tokens)
                for c in self.calls
            ),
            Decimal(0),
        )
