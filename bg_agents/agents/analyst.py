"""The analyst agent: answers a team's questions about its numbers (``bg-agents ask`` / ``chat``).

It is assembled from the shared pieces (prompt file, team-scoped tools, a backend, the ledger), as
every background agent is. When the configured model is unreachable, or stops without an answer,
the same question is answered by the offline backend, and the answer says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents import clock
from bg_agents.agents.analyst_tools import analyst_tools
from bg_agents.agents.backends import ChatBackend, LLMUnavailable, OfflineBackend, offline_policy
from bg_agents.agents.ledger import Ledger
from bg_agents.agents.loop import Limits, ToolTrace, run_agent
from bg_agents.agents.messages import Message, ToolCall, Turn
from bg_agents.agents.prompting import load_prompt
from bg_agents.db.models import Team
from bg_agents.domain.weeks import last_complete_week

AGENT = "analyst"


@dataclass
class Answer:
    text: str
    backend: str
    fallback_reason: str | None = None
    steps: int = 0
    tools: list[ToolTrace] = field(default_factory=list)
    cost_usd: Decimal = Decimal(0)
    history: list[Message] = field(default_factory=list)


def team_today(time_zone: str, now: datetime | None = None) -> date:
    """The team's local date: "last week" ends on the team's Sunday, not UTC's."""
    return (now or clock.now()).astimezone(ZoneInfo(time_zone)).date()


def ask(
    engine: Engine,
    team_slug: str,
    question: str,
    backend: ChatBackend,
    *,
    now: datetime | None = None,
    limits: Limits | None = None,
    history: Sequence[Message] = (),
) -> Answer:
    with engine.connect() as conn:
        team = conn.execute(
            sa.select(Team.id, Team.name, Team.base_currency, Team.time_zone).where(
                Team.slug == team_slug
            )
        ).first()
    if team is None:
        raise ValueError(f"unknown team {team_slug!r}; `bg-agents teams` lists them")
    if not question.strip():
        raise ValueError("the question is empty")
    today = team_today(team.time_zone, now)
    instructions = load_prompt(
        AGENT,
        team_name=team.name,
        currency=team.base_currency,
        today=today.isoformat(),
        last_week=last_complete_week(today).isoformat(),
    )
    tools = analyst_tools(engine, team.id, today)
    ledger = Ledger(engine, AGENT, team_id=team.id)

    def attempt(chosen: ChatBackend) -> Any:
        return run_agent(
            chosen,
            agent=AGENT,
            instructions=instructions,
            prompt=question,
            tools=tools,
            limits=limits,
            record=ledger,
            history=list(history),
        )

    reason = None
    try:
        result = attempt(backend)
        if not result.answered or not (result.text or "").strip():
            reason = f"the model stopped without an answer ({result.stopped})"
    except LLMUnavailable as exc:
        reason = str(exc)
    if reason is not None and backend.name != OfflineBackend.name:
        result = attempt(OfflineBackend())
    return Answer(
        text=(result.text or "").strip() or "I could not produce an answer.",
        backend=OfflineBackend.name if reason else backend.name,
        fallback_reason=reason,
        steps=result.steps,
        tools=result.tools,
        cost_usd=ledger.total_cost,
        history=result.messages[1:],
    )


# --- offline behaviour (SIMULATED: keyword rules, not a model) -----------------------------------

METRIC_WORDS = {
    "expenses": r"expens|spend|spent|cost|outgo",
    "revenue": r"revenue|income|sales|earn|turnover",
    "net": r"\bnet\b|profit|cash ?flow|margin|result",
    "transactions": r"transaction|how many|count",
}
CATEGORY_WORDS = r"categor|top|where .*(money|spend)|biggest"


def _call(index: int, name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=f"offline-{index}", name=name, arguments=json.dumps(arguments))


def plan(question: str) -> list[ToolCall]:
    """Which tools a question needs: metric comparisons, categories, or the week's totals."""
    q = question.lower()
    calls = [
        _call(i, "compare_periods", metric=metric, period1="week_before", period2="last_week")
        for i, metric in enumerate(
            m for m, pattern in METRIC_WORDS.items() if re.search(pattern, q)
        )
    ]
    if re.search(CATEGORY_WORDS, q):
        calls.append(_call(len(calls), "top_categories", week="last_week", limit=3))
    return calls or [_call(0, "get_weekly_metrics", week="last_week")]


def _money(value: Any, currency: str | None) -> str:
    amount = f"{Decimal(str(value)):,.2f}"
    return f"{amount} {currency}" if currency else f"{int(Decimal(str(value))):,}"


def _change(pct: float | None) -> str:
    if pct is None:
        return "with nothing the week before to compare with"
    if pct == 0:
        return "unchanged from the week before"
    return f"{'up' if pct > 0 else 'down'} {abs(pct):.1f} % from the week before"


def describe(result: dict[str, Any]) -> str:
    """One sentence per tool result, numbers copied exactly from it."""
    if "error" in result:
        return f"I could not get that figure: {result['error']}."
    if "metric" in result:
        cur = result["currency"]
        return (
            f"{result['metric'].capitalize()} in the week of {result['period2']['week_start']} "
            f"came to {_money(result['current'], cur)}, {_change(result['change_pct'])} "
            f"({_money(result['previous'], cur)})."
        )
    if "categories" in result:
        cur = result["currency"]
        parts = [
            f"{c['category']} {_money(c['expenses'], cur)} ({_change(c['change_pct'])})"
            for c in result["categories"]
        ]
        listed = "; ".join(parts) or "no spending recorded"
        return f"Top spending in the week of {result['week_start']}: {listed}."
    cur = result["currency"]
    return (
        f"In the week of {result['week_start']} to {result['week_end']}: revenue "
        f"{_money(result['revenue'], cur)}, expenses {_money(result['expenses'], cur)}, net "
        f"{_money(result['net'], cur)} across {result['transactions']} transactions."
    )


@offline_policy(AGENT)
def offline_analyst(
    messages: Sequence[Message], tools: Sequence[dict[str, Any]], response_format: Any
) -> Turn:
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    results = [m for m in messages[last_user:] if m["role"] == "tool"]
    if not results:
        return Turn(content=None, tool_calls=plan(messages[last_user]["content"]))
    return Turn(content=" ".join(describe(json.loads(m["content"])) for m in results))
