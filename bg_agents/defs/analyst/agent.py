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

from bg_agents.defs.insights import Fact, Facts, Figure, check_numbers, clean_name
from bg_agents.defs.metrics import metric_tools
from bg_agents.lib import clock
from bg_agents.lib.agents.backends import (
    ChatBackend,
    LLMUnavailable,
    OfflineBackend,
)
from bg_agents.lib.agents.ledger import Ledger
from bg_agents.lib.agents.loop import Limits, ToolTrace, run_agent
from bg_agents.lib.agents.messages import Message, ToolCall, Turn
from bg_agents.lib.agents.prompting import load_prompt
from bg_agents.lib.content_guard import content_problems
from bg_agents.lib.db.models import Team
from bg_agents.lib.weeks import last_complete_week

AGENT = "analyst"
_ISO_DAY = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")
WITHHELD = "I cannot show that answer: it did not pass the checks for what an answer may contain."


@dataclass
class Answer:
    text: str
    backend: str
    fallback_reason: str | None = None
    steps: int = 0
    tools: list[ToolTrace] = field(default_factory=list)
    cost_usd: Decimal | None = Decimal(0)  # None: some call's cost is unknown (unpriced model)
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
            sa.select(Team.id, Team.name, Team.base_currency, Team.time_zone, Team.locale).where(
                Team.slug == team_slug
            )
        ).first()
    if team is None:
        raise ValueError(f"unknown team {team_slug!r}; `bg-agents teams` lists them")
    if not question.strip():
        raise ValueError("the question is empty")
    today = team_today(team.time_zone, now)
    instructions = load_prompt(
        __package__,
        AGENT,
        team_name=team.name,
        currency=team.base_currency,
        today=today.isoformat(),
        last_week=last_complete_week(today).isoformat(),
    )
    tools = metric_tools(engine, team.id, today)
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
            offline=offline_analyst,
        )

    reason = None
    try:
        result = attempt(backend)
        if not result.answered or not (result.text or "").strip():
            reason = f"the model stopped without an answer ({result.stopped})"
        elif problems := answer_problems(result.text or "", result.messages, team):
            reason = "the model's answer was withheld: " + "; ".join(problems)
    except LLMUnavailable as exc:
        reason = str(exc)
    if reason is not None and backend.name != OfflineBackend.name:
        result = attempt(OfflineBackend())
    text = (result.text or "").strip() or "I could not produce an answer."
    if answer_problems(text, result.messages, team):
        text = WITHHELD  # never shown, whoever wrote it
    return Answer(
        text=text,
        backend=OfflineBackend.name if reason else backend.name,
        fallback_reason=reason,
        steps=result.steps,
        tools=result.tools,
        cost_usd=ledger.cost,
        history=result.messages[1:],
    )


def tool_facts(messages: Sequence[Message], currency: str, locale: str) -> Facts:
    """Every figure, date and name in the conversation's tool results: what an answer may cite.

    Percent keys (``change_pct``) are percentages, whole numbers counts, decimal strings money.
    """
    figures: list[Figure] = []
    names: set[str] = set()
    dates: set[date] = set()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            unit = "pct" if key.endswith("pct") else "count" if isinstance(value, int) else "money"
            figures.append(Figure(key, Decimal(str(value)), unit, str(value)))
        elif isinstance(value, str):
            try:
                dates.add(date.fromisoformat(value))
                return
            except ValueError:
                pass
            try:
                amount = Decimal(value)
            except ArithmeticError:
                if key == "category":
                    names.add(clean_name(value, "an unnamed category"))
                dates.update(date.fromisoformat(d) for d in _ISO_DAY.findall(value))  # errors
                return
            if amount.is_finite():
                figures.append(
                    Figure(key, amount, "pct" if key.endswith("pct") else "money", value)
                )

    for message in messages:
        if message["role"] != "tool":
            continue
        try:
            data = json.loads(message["content"] or "")
        except ValueError:
            continue
        if isinstance(data, dict):
            currency = data.get("currency") or currency
        walk(data, "")
    fact = Fact("tool_results", 0, "count", "", 0.0, tuple(figures))
    week = min(dates, default=date.today())
    return Facts("", currency, locale, week, (fact,), frozenset(names), frozenset(dates))


def answer_problems(text: str, messages: Sequence[Message], team: Any) -> list[str]:
    """Why an answer may not be shown: instructions, credentials, payment requests, links or
    contacts, or a number that is not in this conversation's tool results. Worded for people,
    never quoting the refused text."""
    problems = content_problems(text, quote=False)
    facts = tool_facts(messages, team.base_currency, team.locale)
    if check_numbers(text, facts, team.locale):
        problems.append("it states numbers that are not in the tool results")
    return problems


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
            f"{clean_name(c['category'], 'an unnamed category')} {_money(c['expenses'], cur)} "
            f"({_change(c['change_pct'])})"
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


def offline_analyst(
    messages: Sequence[Message], tools: Sequence[dict[str, Any]], response_format: Any
) -> Turn:
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    results = [m for m in messages[last_user:] if m["role"] == "tool"]
    if not results:
        return Turn(content=None, tool_calls=plan(messages[last_user]["content"]))
    return Turn(content=" ".join(describe(json.loads(m["content"])) for m in results))
