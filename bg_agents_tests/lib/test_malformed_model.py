"""A corpus of malformed and hostile model servers, each driven through the real ``openai`` client
against the scripted server: ``ask``, ``chat`` and ``insights generate`` end in the offline or
fallback path (or use a usable answer), never in a crash; no secret reaches stdout, stderr, the
database or the logs; and every ledger row is honest (unknown tokens and unknown costs are NULL,
``model`` is what the server reported).
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bg_agents import cli
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine, temporary_database
from bg_agents.lib.db.models import LLMCall
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world
from bg_agents_tests.helpers import dump
from bg_agents_tests.openai_stub import (
    Response,
    ScriptedOpenAI,
    Step,
    Trickle,
    raw,
    repeat,
    reply,
    status,
)

# The configured key has no recognisable shape: only its literal value can find it in a message.
KEY = "gw-live-7Hq2Zk9PxY4mN8vRt3"
ECHOED_SK = "sk-proj-Zx81LmQw93KdVb72TrPq"  # some other key a gateway quotes
DB_PASSWORD = "Hunter2Secret"
SECRETS = (KEY, ECHOED_SK, DB_PASSWORD)
LLM_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BG_AGENTS_LLM_BACKEND", "BG_AGENTS_LLM_MODEL")
MODEL = "gpt-4o-mini"
ANSWER = "Expenses went down last week."
LONGEST_COMMAND = 15.0  # seconds; generous for a busy machine, half the agents' own 30 s


def _completion(**override: Any) -> dict[str, Any]:
    body = reply(ANSWER, model=MODEL).body
    return {**body, **override}


def _usage(prompt: Any, completion: Any) -> Response:
    return Response(_completion(usage={"prompt_tokens": prompt, "completion_tokens": completion}))


# What the ledger must say about a call to the hostile server: (outcome, prompt tokens,
# completion tokens, cost, model, reported model). None is NULL.
UNREADABLE = ("bad_response", None, None, None, MODEL, None)
UNREADABLE_NAMED = ("bad_response", None, None, None, MODEL, MODEL)
REFUSED = ("refused", 0, 0, Decimal(0), MODEL, None)
NO_ANSWER = ("connection_error", None, None, None, MODEL, None)
REDIRECTED = ("redirected", 0, 0, Decimal(0), MODEL, None)


@dataclass(frozen=True)
class Kind:
    name: str
    step: Step
    answered: bool  # True: the answer is usable and the model's; False: offline fallback
    ledger: tuple[Any, ...]


CORPUS = [
    Kind("invalid_json", raw('{"id": "chatcmpl-1", choices: oops}'), False, UNREADABLE),
    Kind("truncated_json", raw(json.dumps(_completion())[:60]), False, UNREADABLE),
    Kind(
        "html_with_200",
        raw("<html><h1>Bad gateway</h1></html>", content_type="text/html"),
        False,
        UNREADABLE,
    ),
    Kind("empty_body", raw(""), False, UNREADABLE),
    Kind("no_content_204", raw("", code=204), False, UNREADABLE),
    Kind(
        "invalid_utf8",
        raw(b'{"choices": [{"message": {"content": "\xff\xfe"}}]}'),
        False,
        UNREADABLE,
    ),
    Kind("nested_beyond_recursion_limit", raw("[" * 100_000 + "]" * 100_000), False, UNREADABLE),
    Kind(
        "undecodable_gzip", raw(b"not gzip", headers={"Content-Encoding": "gzip"}), False, NO_ANSWER
    ),
    Kind("json_array", raw("[]"), False, UNREADABLE),
    Kind("json_null", raw("null"), False, UNREADABLE),
    Kind(
        "missing_choices",
        Response({"object": "chat.completion", "model": MODEL}),
        False,
        UNREADABLE_NAMED,
    ),
    Kind("empty_choices", Response(_completion(choices=[])), False, UNREADABLE_NAMED),
    Kind(
        "message_null",
        Response(_completion(choices=[{"index": 0, "message": None}])),
        False,
        UNREADABLE_NAMED,
    ),
    Kind("content_null_no_tool_calls", reply(None, model=MODEL), False, UNREADABLE_NAMED),
    Kind(
        "broken_tool_calls",
        Response(
            _completion(
                choices=[
                    {
                        "index": 0,
                        "finish_reason": "tool_calls",
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [{"id": None, "type": "function", "function": None}, "x"],
                        },
                    }
                ]
            )
        ),
        False,
        UNREADABLE_NAMED,
    ),
    Kind(
        "error_object_with_200",
        Response({"error": {"message": f"upstream rejected key {KEY}"}, "model": MODEL}),
        False,
        UNREADABLE_NAMED,
    ),
    Kind(
        "event_stream_garbage",
        raw("data: {garbage\n\ndata: [DONE]\n\n", content_type="text/event-stream"),
        False,
        UNREADABLE,
    ),
    Kind(
        "never_ending_body",
        Trickle(b" ", every=0.1),
        False,
        ("timeout", None, None, None, MODEL, None),
    ),
    Kind("cut_off_in_transit", raw(json.dumps(_completion())[:60], length=4000), False, NO_ANSWER),
    Kind(
        "redirect_loop",
        Response({}, code=307, headers={"Location": "/v1/chat/completions"}),
        False,
        REDIRECTED,
    ),
    Kind(
        "redirect_to_another_host",
        Response({}, code=302, headers={"Location": "http://elsewhere.invalid/v1/chat"}),
        False,
        REDIRECTED,
    ),
    Kind(
        "401_echoing_the_key",
        status(401, message=f"Incorrect API key provided: Bearer {KEY}"),
        False,
        REFUSED,
    ),
    Kind(
        "400_with_a_multiline_100_kb_message",
        status(400, message="Invalid request:\n" + "a line of detail\n" * 6_000),
        False,
        REFUSED,
    ),
    Kind(
        "400_echoing_secrets_in_error_message",
        status(
            400,
            message=f"key {KEY} (org of {ECHOED_SK}) cannot reach "
            f"postgresql://billing:{DB_PASSWORD}@db.internal/prod",
        ),
        False,
        REFUSED,
    ),
    Kind("completion_tokens_null", _usage(20, None), True, ("ok", 20, None, None, MODEL, MODEL)),
    Kind("negative_tokens", _usage(-20, 10), True, ("ok", None, 10, None, MODEL, MODEL)),
    Kind("huge_tokens", _usage(10**30, 10), True, ("ok", None, 10, None, MODEL, MODEL)),
    Kind("string_tokens", _usage("20", "ten"), True, ("ok", None, None, None, MODEL, MODEL)),
    Kind("float_and_bool_tokens", _usage(20.5, True), True, ("ok", None, None, None, MODEL, MODEL)),
    Kind(
        "usage_missing",
        Response({k: v for k, v in _completion().items() if k != "usage"}),
        True,
        ("ok", None, None, None, MODEL, MODEL),
    ),
    Kind(
        "json_as_text_plain",
        raw(json.dumps(_completion()), content_type="text/plain"),
        True,
        ("ok", 20, 10, Decimal("0.0000"), MODEL, MODEL),
    ),
    Kind(
        "unknown_model",
        reply(ANSWER, model="llama-3.1-8b-local"),
        True,
        ("ok", 20, 10, None, "llama-3.1-8b-local", "llama-3.1-8b-local"),
    ),
]


@dataclass
class World:
    url: str
    home: Path
    team: str
    week: str


# The commands run on a pinned clock: on the real one, "last week" in a team's zone is not the
# UTC one for hours around Monday 00:00 UTC, and its previous week then had no metrics.
NOW = "2026-03-18T12:00:00+00:00"
LAST_WEEK = date(2026, 3, 9)


def _build_world(url: str, home: Path) -> World:
    """One team with two measured weeks, the later one "last week" at ``NOW`` in every zone."""
    engine = get_engine(url)
    migrate.upgrade(engine)
    world = generate_world(teams=1, weeks=2, seed=11, end=LAST_WEEK + timedelta(days=6))
    write_world(engine, world)
    for offset in range((world.end - world.start).days + 1):
        ingest_day(engine, world.start + timedelta(days=offset))
    for monday in (LAST_WEEK - timedelta(days=7), LAST_WEEK):
        build_weekly_metrics(engine, monday)
    engine.dispose()
    return World(url, home, world.teams[0]["slug"], LAST_WEEK.isoformat())


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    home = tmp_path_factory.mktemp("malformed-sqlite")
    return _build_world(f"sqlite:///{home / 'app.db'}", home)


@pytest.fixture(scope="module")
def postgres_world(
    postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    with temporary_database(postgres_admin_url, "bg_agents_malformed") as url:
        yield _build_world(url, tmp_path_factory.mktemp("malformed-pg"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest) -> World:
    return request.getfixturevalue(f"{request.param}_world")


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    ledger: list[tuple[Any, ...]]  # rows the command wrote for calls to the hostile server
    seconds: float  # how long the command took


class Cli:
    """Runs `bg-agents` in this process against one scripted server, capturing everything."""

    def __init__(self, world: World, server: ScriptedOpenAI, capsys: Any, caplog: Any) -> None:
        self.world, self.server, self.capsys, self.caplog = world, server, capsys, caplog
        self.engine = get_engine(world.url)

    def run(self, *argv: str, stdin: str = "") -> Outcome:
        with self.engine.connect() as conn:
            before = conn.scalar(sa.select(sa.func.coalesce(sa.func.max(LLMCall.id), 0)))
        self.capsys.readouterr()
        old_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
        started = time.monotonic()
        try:
            code = cli.main(list(argv))
        finally:
            sys.stdin = old_stdin
        seconds = time.monotonic() - started
        captured = self.capsys.readouterr()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    LLMCall.outcome,
                    LLMCall.prompt_tokens,
                    LLMCall.completion_tokens,
                    LLMCall.cost_usd,
                    LLMCall.model,
                    LLMCall.reported_model,
                )
                .where(LLMCall.id > before, LLMCall.model != "offline")
                .order_by(LLMCall.id)
            ).all()
        return Outcome(code, captured.out, captured.err, [tuple(r) for r in rows], seconds)


@pytest.fixture
def run_cli(world: World, monkeypatch: pytest.MonkeyPatch, capsys: Any, caplog: Any) -> Iterator:
    for name in LLM_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BG_AGENTS_HOME", str(world.home))
    monkeypatch.setenv("BG_AGENTS_DATABASE_URL", world.url)
    monkeypatch.setenv("BG_AGENTS_LLM_API_KEY", KEY)
    monkeypatch.setenv("BG_AGENTS_LLM_MODEL", MODEL)
    monkeypatch.setenv("BG_AGENTS_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("BG_AGENTS_LLM_TIMEOUT", "1")
    monkeypatch.setenv("BG_AGENTS_NOW", NOW)
    caplog.set_level(logging.DEBUG)

    def start(step: Step) -> Cli:
        server = ScriptedOpenAI(repeat(step)).__enter__()
        started.append(server)
        monkeypatch.setenv("BG_AGENTS_LLM_BASE_URL", server.base_url)
        return Cli(world, server, capsys, caplog)

    started: list[ScriptedOpenAI] = []
    yield start
    for server in started:
        server.close()


def _assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {where}"


@pytest.mark.integration
@pytest.mark.parametrize("kind", CORPUS, ids=[k.name for k in CORPUS])
def test_a_hostile_server_never_crashes_ask_chat_or_insights(
    kind: Kind, world: World, run_cli: Any, caplog: Any
) -> None:
    app = run_cli(kind.step)
    question = "How did expenses change last week?"

    ask = app.run("ask", "--team", world.team, question, "--json")
    chat = app.run("chat", "--team", world.team, stdin=f"{question}\nAnd revenue?\n\n")
    insights = app.run(
        "insights", "generate", "--team", world.team, "--week", world.week, "--force"
    )

    for name, outcome in (("ask", ask), ("chat", chat), ("insights", insights)):
        assert outcome.code == 0, f"{name}: exit {outcome.code}: {outcome.err}"
        assert "Traceback" not in outcome.err
        _assert_no_secret(f"{name} stdout", outcome.out)
        _assert_no_secret(f"{name} stderr", outcome.err)
        assert outcome.ledger, f"{name}: no call to the server was recorded"
        assert set(outcome.ledger) == {kind.ledger}, f"{name}: dishonest ledger rows"
        # BG_AGENTS_LLM_TIMEOUT is 1 s and retries are off: no server holds a command for long
        # (a trickling body used to hold `insights` for its agent's own 30 s).
        assert outcome.seconds < LONGEST_COMMAND, f"{name}: took {outcome.seconds:.1f} s"
    answer = json.loads(ask.out)
    # The run's cost is unknown (null) as soon as one call's is; never a made-up "0".
    cost_known = kind.ledger[3] is not None
    assert (answer["cost_usd"] is not None) == cost_known
    if kind.answered:
        assert (answer["backend"], answer["answer"], answer["fallback_reason"]) == (
            "openai",
            ANSWER,
            None,
        )
    else:
        assert answer["backend"] == "offline" and answer["fallback_reason"]
        assert answer["answer"].startswith("Expenses in the week of")
        # The conversation goes on: both questions answered, each offline.
        assert chat.err.count("(answered offline:") == 2
        assert "path: fallback" in insights.err
        # The reason is one bounded line, however large or multi-line the server's error was.
        assert "\n" not in answer["fallback_reason"] and len(answer["fallback_reason"]) <= 300
    assert chat.out.count("analyst> ") == 2
    _assert_no_secret("the logs", caplog.text)
    _assert_no_secret("the database", repr(dump(app.engine)))
