"""The tool loop: ask the model, run the tools it calls, repeat until it answers or a limit hits.

Limits are hard: steps (model calls, default 5 as in the seed's ``stepCountIs(5)``), wall time
and tokens (those the server reports: a server that reports none is still bounded by steps and
time). Several tool calls in one turn are all executed and answered, in order. An optional
pydantic model for the final answer is requested as JSON, validated, and repaired once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from bg_agents.lib.agents import messages as msg

# AgentTimeout and LLMUnavailable are raised by backends during a run; re-exported for callers.
from bg_agents.lib.agents.backends import (  # noqa: F401
    AgentTimeout,
    ChatBackend,
    LLMUnavailable,
    Policy,
    Recorder,
)
from bg_agents.lib.agents.messages import Message, Usage
from bg_agents.lib.agents.tools import Tool, run_tool


@dataclass(frozen=True)
class Limits:
    max_steps: int = 5
    max_seconds: float = 120.0
    max_tokens: int = 50_000
    request_timeout: float = 30.0


@dataclass(frozen=True)
class ToolTrace:
    name: str
    arguments: str
    result: str
    ok: bool


@dataclass
class AgentResult:
    text: str | None
    output: BaseModel | None = None
    stopped: str = "answered"  # answered | step_limit | time_limit | token_limit | invalid_output
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    tools: list[ToolTrace] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.stopped == "answered"


_NOT_RUN = json.dumps({"error": "not run: this run's token budget is spent"})


def _response_format(output: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": output.__name__, "schema": output.model_json_schema()},
    }


def _parse(output: type[BaseModel], text: str | None) -> tuple[BaseModel | None, str]:
    try:
        return output.model_validate(json.loads(text or "")), ""
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg})"
    except ValidationError as exc:
        return None, "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()
        )


def run_agent(
    backend: ChatBackend,
    *,
    agent: str,
    instructions: str,
    prompt: str,
    tools: list[Tool],
    limits: Limits | None = None,
    output: type[BaseModel] | None = None,
    record: Recorder | None = None,
    history: Sequence[Message] = (),
    offline: Policy | None = None,
) -> AgentResult:
    """Run one conversation to an answer; raises :class:`LLMUnavailable` if the model is down.

    ``history`` carries earlier turns of an interactive chat (without the system message);
    ``offline`` is the agent's SIMULATED behaviour on the offline backend (none: it is unavailable).
    """
    limits = limits or Limits()
    deadline = time.monotonic() + limits.max_seconds
    messages: list[Message] = [msg.system(instructions), *history, msg.user(prompt)]
    result = AgentResult(text=None, messages=messages)
    specs = [t.spec() for t in tools]
    response_format = _response_format(output) if output else None
    repaired = False

    while result.steps < limits.max_steps:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.stopped = "time_limit"
            return result
        turn = backend.complete(
            messages,
            specs,
            agent=agent,
            timeout=min(limits.request_timeout, remaining),
            response_format=response_format,
            record=record,
            deadline=deadline,
            offline=offline,
        )
        result.steps += 1
        result.usage = result.usage + turn.usage
        messages.append(turn.as_message())
        over_budget = result.usage.total > limits.max_tokens
        if turn.tool_calls:
            if over_budget:
                # Run nothing more, but answer every call: a chat continues from this transcript,
                # and a tool call without its result makes the next request invalid.
                for call in turn.tool_calls:
                    messages.append(msg.tool_result(call.id, _NOT_RUN))
                result.stopped = "token_limit"
                return result
            for call in turn.tool_calls:
                content, ok = run_tool(tools, call.name, call.arguments)
                result.tools.append(ToolTrace(call.name, call.arguments, content, ok))
                messages.append(msg.tool_result(call.id, content))
            continue
        result.text = turn.content
        if output is None:
            return result  # an answer that arrived is kept even over budget: it is paid for
        parsed, problem = _parse(output, turn.content)
        if parsed is not None:
            result.output = parsed
            return result
        if repaired:
            result.stopped = "invalid_output"
            return result
        if over_budget:
            result.stopped = "token_limit"
            return result
        repaired = True  # one repair attempt, even if it takes the last step
        messages.append(
            msg.user(
                f"Your answer does not match the required JSON schema: {problem}. "
                "Reply again with only the JSON object."
            )
        )
        if result.steps >= limits.max_steps:
            limits = Limits(
                max_steps=result.steps + 1,
                max_seconds=limits.max_seconds,
                max_tokens=limits.max_tokens,
                request_timeout=limits.request_timeout,
            )
    result.stopped = "step_limit"
    return result
