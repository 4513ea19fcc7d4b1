"""The model as the matcher's tie breaker: only for records whose best candidates tie.

The deterministic matcher decides everything it can; the model sees the few records whose top
answers score within the tie margin. It works through the same tools as any agent:
``find_candidates`` to look around and ``match_record`` to link, and ``match_record`` is narrowed
to the tied candidates and re-checks the rules itself, so an insisting or injected model can
neither link outside the tie nor below the rules. A model that is down leaves the tie to a person.
"""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from bg_agents.defs.reconciliation.matcher.rules import MatchRules, Side
from bg_agents.defs.reconciliation.matcher.types import TieBreaker
from bg_agents.defs.reconciliation.tools import LearnedGuard, matching_tools
from bg_agents.lib.agents.backends import ChatBackend, LLMUnavailable
from bg_agents.lib.agents.ledger import Ledger
from bg_agents.lib.agents.loop import Limits, run_agent
from bg_agents.lib.agents.prompting import data_block, load_prompt

AGENT = "matcher"
LIMITS = Limits(max_steps=5, max_seconds=60)


def _describe(side: Side) -> dict[str, object]:
    return {
        "id": side.id,
        "date": side.date.isoformat(),
        **({"due": side.date_until.isoformat()} if side.date_until else {}),
        "amount": f"{side.amount:f}",
        "currency": side.currency,
        "names": list(side.names),
        **({"reference": side.reference} if side.reference else {}),
    }


def model_tie_breaker(
    engine: Engine,
    team_id: int,
    team_name: str,
    backend: ChatBackend,
    rules: MatchRules,
    ledger: Ledger,
    *,
    learned: LearnedGuard | None = None,
) -> TieBreaker:
    """A tie breaker for one team's records; every model call lands in ``ledger``.
    ``learned``: the learned engine's guard, which ``match_record`` then applies."""
    instructions = load_prompt(__package__, AGENT, team_name=team_name)

    def choose(record: Side, options: list[tuple[Side, float]]) -> str | None:
        offered = {record.id: frozenset(c.id for c, _ in options)}
        tools = matching_tools(engine, team_id, rules, offered=offered, learned=learned)
        candidates = [{**_describe(c), "matcher_score": round(s, 3)} for c, s in options]
        prompt = (
            f"Record {record.id} ties between {len(options)} candidates.\n"
            + data_block("record", _describe(record))
            + "\n"
            + data_block("candidates", candidates)
        )
        try:
            result = run_agent(backend, agent=AGENT, instructions=instructions, prompt=prompt,
                               tools=tools, limits=LIMITS, record=ledger)  # fmt: skip
        except LLMUnavailable:
            return None
        for trace in result.tools:
            if trace.name == "match_record" and trace.ok:
                return json.loads(trace.arguments)["candidate_id"]
        return None

    return choose
