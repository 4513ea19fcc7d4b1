"""The call ledger: every model call as a row of ``llm_calls``, with its estimated cost.

Nothing is guessed: a token count the server did not report (or reported as nonsense) is stored as
NULL, and so is the cost of a call whose model has no known price or whose priced tokens are
unknown. ``model`` is the name the server reported (the requested one when it named none), and
``reported_model`` is NULL exactly when the server named none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.lib.agents.backends import MODEL_NAME_LENGTH, CallRecord
from bg_agents.lib.agents.messages import redact
from bg_agents.lib.db.models import LLMCall

# USD per million tokens (input, output), checked 2026-11 against the providers' price pages.
# A model not listed here (a local server, a new name) has an unknown cost: NULL, not $0.
PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "offline": (Decimal(0), Decimal(0)),
}


def cost_usd(
    model: str, prompt_tokens: int | None, completion_tokens: int | None
) -> Decimal | None:
    """The call's cost, or None when it cannot be known (unpriced model, unknown priced tokens)."""
    # Providers answer with dated names ("gpt-4o-mini-2024-07-18"): match the longest prefix.
    name = max((m for m in PRICES if model.startswith(m)), key=len, default=None)
    if name is None:
        return None
    inp, out = PRICES[name]
    if (prompt_tokens is None and inp) or (completion_tokens is None and out):
        return None
    cost = (inp * (prompt_tokens or 0) + out * (completion_tokens or 0)) / 1_000_000
    return cost.quantize(Decimal("0.0001"))


def _call_cost(call: CallRecord) -> Decimal | None:
    return cost_usd(call.model, call.tokens.prompt_tokens, call.tokens.completion_tokens)


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
                    # Names come from the server: never longer than the column, never a secret.
                    "model": redact(call.model)[:MODEL_NAME_LENGTH],
                    "reported_model": call.reported_model,
                    "prompt_tokens": call.tokens.prompt_tokens,
                    "completion_tokens": call.tokens.completion_tokens,
                    "latency_ms": call.latency_ms,
                    "cost_usd": _call_cost(call),
                    "outcome": call.outcome,
                    "run_id": self.run_id,
                    "partition_key": self.partition_key,
                },
            )

    @property
    def total_cost(self) -> Decimal:
        """The cost of the calls whose cost is known (see :attr:`cost_unknown_calls`)."""
        return sum((c for c in map(_call_cost, self.calls) if c is not None), Decimal(0))

    @property
    def cost_unknown_calls(self) -> int:
        """Calls whose cost cannot be known: an unpriced model, or tokens never reported."""
        return sum(1 for c in self.calls if _call_cost(c) is None)

    @property
    def cost(self) -> Decimal | None:
        """The run's cost when every call's cost is known, else None."""
        return None if self.cost_unknown_calls else self.total_cost
