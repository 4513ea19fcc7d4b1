"""``bg-agents ask`` and ``chat``: the analyst agent from the command line."""

from __future__ import annotations

import argparse
import json
import sys

from bg_agents.cli.common import (
    open_engine,
)


def _analyst():  # type: ignore[no-untyped-def]
    """The configured backend, limits and ask function (imported late: the CLI starts fast)."""
    from bg_agents.defs.analyst.agent import ask
    from bg_agents.lib.agents.backends import build_backend
    from bg_agents.lib.agents.loop import Limits
    from bg_agents.lib.settings import load_llm_settings

    settings = load_llm_settings()
    key = settings.api_key()
    return ask, build_backend(settings, key), Limits(request_timeout=settings.request_timeout)


def _fallback_note(answer) -> str | None:  # type: ignore[no-untyped-def]
    """Why the answer came from offline, with keys and passwords removed (servers echo them)."""
    from bg_agents.lib.agents.messages import redact

    return redact(answer.fallback_reason) if answer.fallback_reason else None


def _print_answer(answer, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print(
            json.dumps(
                {
                    "answer": answer.text,
                    "backend": answer.backend,
                    "fallback_reason": _fallback_note(answer),
                    "steps": answer.steps,
                    "tools": [t.name for t in answer.tools],
                    # null: a call had no known price (e.g. a local model), not free
                    "cost_usd": None if answer.cost_usd is None else str(answer.cost_usd),
                }
            )
        )
        return
    print(answer.text)
    if answer.fallback_reason:
        print(f"(answered offline: {_fallback_note(answer)})", file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    ask, backend, limits = _analyst()
    answer = ask(open_engine(), args.team, args.question, backend, limits=limits)
    _print_answer(answer, args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    ask, backend, limits = _analyst()
    engine = open_engine()
    history: list = []
    print(
        f"Chatting with the analyst of {args.team} ({backend.name} backend). "
        "Empty line or Ctrl-D to quit, /reset to forget the conversation."
    )
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        if question == "/reset":
            history = []
            continue
        answer = ask(engine, args.team, question, backend, limits=limits, history=history)
        history = answer.history
        print(f"analyst> {answer.text}")
        if answer.fallback_reason:
            print(f"(answered offline: {_fallback_note(answer)})", file=sys.stderr)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    ask = sub.add_parser("ask", help="ask the analyst agent one question about a team's numbers")
    ask.add_argument("--team", required=True, help="team slug (see `bg-agents teams`)")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="answer, backend, tools and cost as JSON")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="talk to the analyst agent about a team's numbers")
    chat.add_argument("--team", required=True, help="team slug (see `bg-agents teams`)")
    chat.set_defaults(func=cmd_chat)
