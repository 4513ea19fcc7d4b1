"""Typed tools: a Python function with a pydantic model for its arguments.

The model sees the JSON schema of the arguments model. Whatever it sends back is parsed and
validated here before the function runs; every failure (bad JSON, wrong fields, a business rule
the tool refuses, an unexpected exception) becomes a tool result that says what was wrong, so the
model can correct itself and the loop never crashes on a bad call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class ToolArgs(BaseModel):
    """Base for tool arguments: unknown keys are refused, so a hallucinated argument (a team id,
    a "force" flag) gets an error the model can read instead of being silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ToolError(Exception):
    """A refusal the model should read: invalid request, rule broken, record not found."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    fn: Callable[[Any], Any]
    writes: bool = False  # tools that change data; counted separately in results

    def spec(self) -> dict[str, Any]:
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


def _error(message: str) -> str:
    return json.dumps({"error": message})


def run_tool(tools: Sequence[Tool], name: str, arguments: str) -> tuple[str, bool]:
    """Execute one call; returns (JSON result for the model, whether it succeeded)."""
    tool = next((t for t in tools if t.name == name), None)
    if tool is None:
        available = ", ".join(t.name for t in tools) or "none"
        return _error(f"unknown tool {name!r}; available tools: {available}"), False
    try:
        raw = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return _error(f"arguments are not valid JSON ({exc.msg}); send a JSON object"), False
    try:
        args = tool.args.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return _error(f"invalid arguments: {problems}"), False
    try:
        result = tool.fn(args)
    except ToolError as exc:
        return _error(str(exc)), False
    except Exception as exc:  # a bug in a tool must not end the run or leak internals
        return _error(f"{name} failed ({type(exc).__name__}); try something else"), False
    return json.dumps(result, default=str), True
