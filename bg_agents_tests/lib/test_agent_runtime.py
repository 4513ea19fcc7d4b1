"""The agent runtime driven through the real openai client against a scripted local server."""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from bg_agents.lib.agents.backends import (
    CallRecord,
    ChatBackend,
    LLMUnavailable,
    OfflineBackend,
    OpenAIBackend,
    RetryPolicy,
    build_backend,
    parse_retry_after,
)
from bg_agents.lib.agents.ledger import Ledger, cost_usd
from bg_agents.lib.agents.loop import AgentResult, AgentTimeout, Limits, ToolTrace, run_agent
from bg_agents.lib.agents.messages import Message, ToolCall, Turn, Usage, redact, register_secret
from bg_agents.lib.agents.tools import Tool, ToolArgs, ToolError
from bg_agents.lib.db.models import LLMCall
from bg_agents.lib.settings import LLMSettings
from bg_agents_tests.openai_stub import (
    Response,
    ScriptedOpenAI,
    Trickle,
    repeat,
    reply,
    slow,
    status,
    tool_calls,
)

AGENT = "test_agent"
MODEL = "gpt-4o-mini"
# Fast backoff keeps the suite quick; only the Retry-After test waits for real.
FAST = RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.05)
RATES = {"EUR": "1.08", "GBP": "1.27"}


class AddArgs(ToolArgs):
    a: int
    b: int


class LookupArgs(ToolArgs):
    key: str


class WaitArgs(ToolArgs):
    seconds: float


class Summary(BaseModel):
    total: int
    currency: str


def _offline(
    messages: Sequence[Message], tools: Sequence[dict[str, Any]], response_format: Any
) -> Turn:
    """SIMULATED fallback: add 2 and 3 with the tool, then report the sum."""
    results = [m for m in messages if m["role"] == "tool"]
    if not results:
        return Turn(content=None, tool_calls=[ToolCall("offline-1", "add", '{"a": 2, "b": 3}')])
    return Turn(content=f"offline: {json.loads(results[-1]['content'])['sum']}")


@dataclass
class Harness:
    """One scripted server plus tools that log what actually ran."""

    server: ScriptedOpenAI
    ran: list[str] = field(default_factory=list)

    def tools(self) -> list[Tool]:
        def add(args: AddArgs) -> dict[str, int]:
            self.ran.append(f"add({args.a}, {args.b})")
            return {"sum": args.a + args.b}

        def lookup(args: LookupArgs) -> dict[str, str]:
            self.ran.append(f"lookup({args.key})")
            if args.key not in RATES:
                raise ToolError(f"no rate for {args.key!r}; known keys: {', '.join(RATES)}")
            return {"key": args.key, "rate": RATES[args.key]}

        return [
            Tool("add", "Add two integers.", AddArgs, add),
            Tool("lookup", "Exchange rate to USD of a currency code.", LookupArgs, lookup),
        ]

    def backend(self, retry: RetryPolicy = FAST) -> OpenAIBackend:
        return OpenAIBackend(
            api_key="test", model=MODEL, base_url=self.server.base_url, retry=retry
        )

    def run(
        self,
        *,
        backend: ChatBackend | None = None,
        retry: RetryPolicy = FAST,
        tools: list[Tool] | None = None,
        **kwargs: Any,
    ) -> AgentResult:
        return run_agent(
            backend or self.backend(retry),
            agent=AGENT,
            instructions="You are a careful calculator.",
            prompt="What is 2 + 3?",
            tools=self.tools() if tools is None else tools,
            offline=_offline,
            **kwargs,
        )

    def bodies(self) -> list[dict[str, Any]]:
        return self.server.bodies()


@pytest.fixture
def stub() -> Iterator[Harness]:
    with ScriptedOpenAI() as server:
        yield Harness(server)


def _tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "tool"]


def _error(tool_message: dict[str, Any]) -> str:
    return json.loads(tool_message["content"])["error"]


# --- the tool loop --------------------------------------------------------------------------------


def test_tool_call_then_answer_sends_schema_and_tool_result(stub: Harness) -> None:
    """The model sees the tools' schemas and gets each tool result before it answers."""
    call = tool_calls([("add", {"a": 2, "b": 3})])
    stub.server.script(call, reply("2 + 3 = 5"))

    result = stub.run()

    assert (result.text, result.stopped, result.steps) == ("2 + 3 = 5", "answered", 2)
    assert result.tools == [ToolTrace("add", '{"a": 2, "b": 3}', '{"sum": 5}', True)]
    first, second = stub.bodies()
    assert first["model"] == MODEL
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    add_spec = next(t for t in first["tools"] if t["function"]["name"] == "add")
    assert add_spec["type"] == "function"
    assert add_spec["function"]["description"] == "Add two integers."
    params = add_spec["function"]["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["a", "b"]
    assert {k: v["type"] for k, v in params["properties"].items()} == {
        "a": "integer",
        "b": "integer",
    }
    assert params["additionalProperties"] is False  # ToolArgs forbids invented arguments
    assert second["messages"][2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.call_ids[0],
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.call_ids[0], "content": '{"sum": 5}'},
    ]
    assert result.messages == second["messages"] + [{"role": "assistant", "content": "2 + 3 = 5"}]


def test_two_calls_in_one_turn_are_both_run_in_order_and_answered(stub: Harness) -> None:
    """OpenAI rejects a request where any tool call of a turn lacks its result."""
    call = tool_calls([("lookup", {"key": "EUR"}), ("add", {"a": 1, "b": 2})])
    stub.server.script(call, reply("EUR is 1.08 and 1 + 2 = 3"))

    result = stub.run()

    assert result.answered
    assert stub.ran == ["lookup(EUR)", "add(1, 2)"]
    first, second = stub.bodies()
    assert [m["role"] for m in second["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "tool",
    ]
    assert [(m["tool_call_id"], json.loads(m["content"])) for m in _tool_messages(second)] == [
        (call.call_ids[0], {"key": "EUR", "rate": "1.08"}),
        (call.call_ids[1], {"sum": 3}),
    ]


def test_malformed_json_arguments_are_reported_and_the_tool_does_not_run(stub: Harness) -> None:
    """A truncated argument string must not crash the run or reach the tool."""
    stub.server.script(tool_calls([("add", '{"a": 2, "b": ')]), reply("Sorry, I could not add."))

    result = stub.run()

    assert stub.ran == []
    (message,) = _tool_messages(stub.bodies()[1])
    assert "not valid JSON" in _error(message)
    assert result.tools[0].ok is False
    assert (result.text, result.stopped) == ("Sorry, I could not add.", "answered")


def test_unknown_tool_gets_an_error_naming_the_available_tools(stub: Harness) -> None:
    stub.server.script(
        tool_calls([("multiply", {"a": 2, "b": 3})]),
        tool_calls([("add", {"a": 2, "b": 3})]),
        reply("5"),
    )

    result = stub.run()

    error = _error(_tool_messages(stub.bodies()[1])[0])
    assert "multiply" in error
    assert "available tools: add, lookup" in error
    assert (result.text, result.steps, stub.ran) == ("5", 3, ["add(2, 3)"])


def test_invalid_arguments_are_refused_with_the_field_named(stub: Harness) -> None:
    stub.server.script(
        tool_calls(
            [
                ("add", {"a": "two", "b": 3}),
                ("add", {"a": 1}),
                ("add", {"a": 1, "b": 2, "team_id": 7}),
            ]
        ),
        reply("done"),
    )

    result = stub.run()

    assert stub.ran == []
    wrong_type, missing, extra = (_error(m) for m in _tool_messages(stub.bodies()[1]))
    assert wrong_type.startswith("invalid arguments: a: ")
    assert "integer" in wrong_type
    assert "b: Field required" in missing
    assert "team_id: Extra inputs are not permitted" in extra
    assert result.answered


def test_a_tool_refusal_reaches_the_model_verbatim(stub: Harness) -> None:
    """ToolError text is written for the model, so it must arrive unchanged."""
    stub.server.script(tool_calls([("lookup", {"key": "XYZ"})]), reply("XYZ is unknown."))

    result = stub.run()

    (message,) = _tool_messages(stub.bodies()[1])
    assert _error(message) == "no rate for 'XYZ'; known keys: EUR, GBP"
    assert result.tools == [ToolTrace("lookup", '{"key": "XYZ"}', message["content"], False)]
    assert result.answered


# --- limits ---------------------------------------------------------------------------------------


def _always_add(request: dict[str, Any]) -> Any:
    return tool_calls([("add", {"a": 1, "b": 1})])


def test_a_model_that_never_stops_calling_tools_hits_the_step_limit(stub: Harness) -> None:
    stub.server.script(repeat(_always_add))

    result = stub.run(limits=Limits(max_steps=3))

    assert (result.stopped, result.steps, result.text) == ("step_limit", 3, None)
    assert len(stub.server.requests) == 3
    assert stub.ran == ["add(1, 1)"] * 3


def test_usage_over_the_token_budget_stops_the_run(stub: Harness) -> None:
    """Usage accumulates across steps; once over budget no further call or tool runs."""
    stub.server.script(
        tool_calls([("add", {"a": 1, "b": 1})], prompt_tokens=400, completion_tokens=100),
        tool_calls([("add", {"a": 2, "b": 2})], prompt_tokens=450, completion_tokens=50),
        reply("never requested"),
    )

    result = stub.run(limits=Limits(max_tokens=800))

    assert (result.stopped, result.steps, result.usage.total) == ("token_limit", 2, 1000)
    assert stub.ran == ["add(1, 1)"]
    assert len(stub.server.requests) == 2
    # The unrun call is still answered, so a chat can continue from this transcript.
    unrun = result.messages[-1]
    assert unrun["tool_call_id"] == result.messages[-2]["tool_calls"][0]["id"]
    assert "not run" in _error(unrun)


def test_an_answer_that_arrives_over_the_token_budget_is_kept(stub: Harness) -> None:
    """The tokens are already paid for; dropping the answer would only force a fallback."""
    stub.server.script(reply("5", prompt_tokens=900, completion_tokens=300))

    result = stub.run(limits=Limits(max_tokens=1000))

    assert (result.stopped, result.text, result.usage.total) == ("answered", "5", 1200)


def test_the_time_budget_stops_a_model_that_keeps_calling_tools(stub: Harness) -> None:
    def wait(args: WaitArgs) -> dict[str, str]:
        time.sleep(args.seconds)
        return {"waited": "ok"}

    stub.server.script(repeat(lambda _: tool_calls([("wait", {"seconds": 0.3})])))

    result = stub.run(
        tools=[Tool("wait", "Wait.", WaitArgs, wait)],
        limits=Limits(max_seconds=0.5, max_steps=50),
    )

    assert result.stopped == "time_limit"
    assert 1 <= result.steps < 50
    assert len(stub.server.requests) == result.steps


def test_a_slow_model_is_retried_then_reported_unavailable(stub: Harness) -> None:
    stub.server.script(repeat(slow(5, reply("too late"))))
    ledger = Ledger(None, AGENT)

    with pytest.raises(LLMUnavailable) as raised:
        stub.run(
            retry=RetryPolicy(max_retries=1, base_delay=0.01),
            limits=Limits(request_timeout=0.5),
            record=ledger,
        )

    assert raised.value.attempts == 2
    assert "timeout" in str(raised.value)
    assert len(stub.server.requests) == 2
    assert [c.outcome for c in ledger.calls] == ["timeout", "timeout"]


def test_a_slow_model_cannot_overrun_the_run_time_budget(stub: Harness) -> None:
    """Retries stop at the run's deadline: callers budget on max_seconds, not on retry counts."""
    stub.server.script(repeat(slow(5, reply("too late"))))

    with pytest.raises(AgentTimeout):
        stub.run(
            retry=RetryPolicy(max_retries=4, base_delay=0.01),
            limits=Limits(max_seconds=0.6, request_timeout=5),
        )

    assert len(stub.server.requests) == 1


def test_a_retry_after_beyond_the_run_time_budget_ends_the_run_at_once(stub: Harness) -> None:
    stub.server.script(status(429, headers={"Retry-After": "30"}), reply("after 30 s"))

    with pytest.raises(AgentTimeout) as raised:
        stub.run(limits=Limits(max_seconds=2))

    assert isinstance(raised.value, LLMUnavailable)  # callers' fallback path catches it
    assert (len(stub.server.requests), stub.server.remaining) == (1, 1)


# --- retries and fallback -------------------------------------------------------------------------


def test_rate_limit_waits_for_retry_after_then_succeeds(stub: Harness) -> None:
    stub.server.script(status(429, headers={"Retry-After": "1"}), reply("5"))
    ledger = Ledger(None, AGENT)

    result = stub.run(record=ledger)

    assert result.text == "5"
    first, second = stub.server.requests
    assert second.at - first.at >= 1.0
    assert [(c.outcome, c.attempt) for c in ledger.calls] == [("rate_limited", 1), ("ok", 2)]


def test_retry_after_above_the_policy_maximum_gives_up_without_waiting(stub: Harness) -> None:
    stub.server.script(status(429, headers={"Retry-After": "3600"}), reply("after an hour"))

    with pytest.raises(LLMUnavailable, match="3600s") as raised:
        stub.run()

    assert raised.value.attempts == 1
    assert stub.server.remaining == 1


def test_server_errors_exhaust_retries_then_the_offline_backend_answers(stub: Harness) -> None:
    stub.server.script(repeat(status(500)))
    ledger = Ledger(None, AGENT)

    with pytest.raises(LLMUnavailable) as raised:
        stub.run(retry=RetryPolicy(max_retries=2, base_delay=0.01), record=ledger)

    assert raised.value.attempts == 3
    assert "3 attempts" in str(raised.value)
    # Every attempt reached the server: the client's own hidden retries are off.
    assert len(stub.server.requests) == 3
    assert [c.outcome for c in ledger.calls] == ["server_error"] * 3

    result = stub.run(backend=OfflineBackend(), record=ledger)

    assert (result.text, result.stopped, result.steps) == ("offline: 5", "answered", 2)
    assert stub.ran == ["add(2, 3)"]
    assert len(stub.server.requests) == 3
    assert ledger.calls[-1].model == "offline"


@pytest.mark.parametrize("code", [400, 401, 404, 422])
def test_a_refused_request_is_not_retried(stub: Harness, code: int) -> None:
    """Repeating a bad request (or a bad key) only burns quota and time."""
    stub.server.script(status(code, message="bad request"), reply("never requested"))
    ledger = Ledger(None, AGENT)

    with pytest.raises(LLMUnavailable, match="refused") as raised:
        stub.run(record=ledger)

    assert raised.value.attempts == 1
    assert len(stub.server.requests) == 1
    assert [c.outcome for c in ledger.calls] == ["refused"]


def test_a_malformed_completion_is_reported_unavailable_not_crashed(stub: Harness) -> None:
    """A gateway answering 200 with no choices must reach the caller's fallback path."""
    stub.server.script(Response({"object": "chat.completion", "choices": []}))
    ledger = Ledger(None, AGENT)

    with pytest.raises(LLMUnavailable, match="not a chat completion"):
        stub.run(record=ledger)

    assert len(stub.server.requests) == 1
    assert [c.outcome for c in ledger.calls] == ["bad_response"]


def test_a_body_that_never_ends_is_cut_off_by_the_request_timeout(stub: Harness) -> None:
    """httpx's read timeout restarts with each chunk: a byte every 0.1 s must still not hold the
    run past its request timeout (it used to hang forever)."""
    stub.server.script(Trickle(b" ", every=0.1), reply("5"))
    ledger = Ledger(None, AGENT)

    started = time.monotonic()
    result = stub.run(record=ledger, limits=Limits(request_timeout=0.5))

    assert result.text == "5"  # the retry got the real answer
    assert time.monotonic() - started < 3
    assert [c.outcome for c in ledger.calls] == ["timeout", "ok"]
    assert ledger.calls[0].tokens.prompt_tokens is None  # the server may have billed: unknown


def test_the_configured_request_timeout_bounds_every_agent(stub: Harness) -> None:
    """BG_AGENTS_LLM_TIMEOUT caps each request even for an agent whose own limits allow 30 s
    (insights used to wait 30 s on a trickling server whatever the setting said)."""
    stub.server.script(repeat(Trickle(b" ", every=0.1)))
    settings = LLMSettings("openai", MODEL, stub.server.base_url, None, 0.5, 0)
    ledger = Ledger(None, AGENT)

    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="timeout"):
        stub.run(backend=build_backend(settings, "test"), record=ledger, limits=Limits())

    assert time.monotonic() - started < 3
    assert [c.outcome for c in ledger.calls] == ["timeout"]


def test_a_redirect_is_not_followed_so_team_data_reaches_no_other_host(stub: Harness) -> None:
    with ScriptedOpenAI(reply("from elsewhere")) as elsewhere:
        stub.server.script(
            Response({}, code=307, headers={"Location": f"{elsewhere.base_url}/chat/completions"})
        )
        ledger = Ledger(None, AGENT)

        with pytest.raises(LLMUnavailable, match="redirects to http://127.0.0.1"):
            stub.run(record=ledger)

        assert elsewhere.requests == []
    assert [c.outcome for c in ledger.calls] == ["redirected"]


# --- structured output ----------------------------------------------------------------------------


def test_a_bad_structured_answer_is_repaired_once(stub: Harness) -> None:
    stub.server.script(reply('{"total": "lots"}'), reply('{"total": 5, "currency": "EUR"}'))

    result = stub.run(output=Summary)

    assert result.output == Summary(total=5, currency="EUR")
    assert (result.stopped, result.steps) == ("answered", 2)
    first, second = stub.bodies()
    response_format = first["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Summary"
    assert set(response_format["json_schema"]["schema"]["properties"]) == {"total", "currency"}
    assert second["messages"][-2] == {"role": "assistant", "content": '{"total": "lots"}'}
    repair = second["messages"][-1]
    assert repair["role"] == "user"
    assert "total: Input should be a valid integer" in repair["content"]
    assert "currency: Field required" in repair["content"]


def test_a_repair_is_allowed_even_on_the_last_step(stub: Harness) -> None:
    stub.server.script(reply("5 EUR"), reply('{"total": 5, "currency": "EUR"}'))

    result = stub.run(output=Summary, limits=Limits(max_steps=1))

    assert result.output == Summary(total=5, currency="EUR")


def test_two_bad_structured_answers_stop_with_invalid_output(stub: Harness) -> None:
    stub.server.script(reply("Sure! The total is 5."), reply('{"total": 5}'), reply("{}"))

    result = stub.run(output=Summary)

    assert (result.stopped, result.output, result.steps) == ("invalid_output", None, 2)
    assert len(stub.server.requests) == 2
    assert "not valid JSON" in stub.bodies()[1]["messages"][-1]["content"]


# --- the ledger -----------------------------------------------------------------------------------


def test_the_ledger_writes_one_row_per_attempt_with_tokens_latency_and_cost(
    stub: Harness, engine: sa.Engine
) -> None:
    dated = "gpt-4o-mini-2024-07-18"
    stub.server.script(
        status(503),
        slow(
            0.2,
            tool_calls(
                [("add", {"a": 2, "b": 3})],
                model=dated,
                prompt_tokens=20_000,
                completion_tokens=5_000,
            ),
        ),
        reply("5", model=dated, prompt_tokens=40_000, completion_tokens=10_000),
    )
    ledger = Ledger(engine, AGENT, run_id="run-1", partition_key="2026-03-02")

    assert stub.run(record=ledger).text == "5"

    with engine.connect() as conn:
        rows = conn.execute(sa.select(LLMCall.__table__).order_by(LLMCall.id)).all()
    got = [
        (r.agent, r.model, r.outcome, r.prompt_tokens, r.completion_tokens, r.cost_usd)
        for r in rows
    ]
    # gpt-4o-mini: $0.15 in / $0.60 out per million tokens.
    assert got == [
        (AGENT, MODEL, "server_error", 0, 0, Decimal("0")),
        (AGENT, dated, "ok", 20_000, 5_000, Decimal("0.0060")),
        (AGENT, dated, "ok", 40_000, 10_000, Decimal("0.0120")),
    ]
    assert rows[1].latency_ms >= 200  # the scripted delay is part of the call's latency
    assert {(r.run_id, r.partition_key) for r in rows} == {("run-1", "2026-03-02")}
    assert ledger.total_cost == Decimal("0.0180")


def test_costs_are_unknown_rather_than_zero_when_they_cannot_be_known() -> None:
    assert cost_usd("gpt-4o-mini-2024-07-18", 1_000_000, 0) == Decimal("0.1500")
    assert cost_usd("llama-3.1-8b-local", 1_000, 100) is None  # no price: unknown, not free
    assert cost_usd("gpt-4o-mini", 1_000, None) is None  # priced output, count unknown
    assert cost_usd("offline", None, None) == Decimal(0)  # free whatever the count


def test_redact_removes_keys_bearer_tokens_passwords_and_the_configured_key() -> None:
    configured = "gw-live-R4nd0mLiteral9"
    register_secret(configured)
    register_secret("short")  # too short to be a secret worth mangling messages for
    message = (
        f"Incorrect API key provided: Bearer abc.def-123; key {configured}; "
        "sk-proj-Ab12Cd34Ef56 and masked sk-proj-********7890; api_key=hunter2xyz; "
        "postgresql://billing:Hunter2Secret@db.internal:5432/prod; short stays"
    )

    clean = redact(message)

    for secret in (
        "abc.def-123",
        configured,
        "Ab12Cd34Ef56",
        "7890",
        "hunter2xyz",
        "Hunter2Secret",
    ):
        assert secret not in clean
    assert "postgresql://billing:[redacted]@db.internal:5432/prod" in clean
    assert "short stays" in clean
    assert redact("postgresql://postgres@127.0.0.1:5432/test") == (
        "postgresql://postgres@127.0.0.1:5432/test"  # no password: nothing to hide
    )


def test_an_unavailable_models_message_is_redacted_at_its_source(stub: Harness) -> None:
    """Callers print and store LLMUnavailable's text; the key a server echoes never reaches it."""
    stub.server.script(status(401, message="Incorrect API key provided: sk-proj-Secret123456"))

    with pytest.raises(LLMUnavailable) as raised:
        stub.run()

    assert "Secret123456" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_unknown_tokens_survive_as_null_and_a_downgrade_turns_them_into_zero(
    engine: sa.Engine,
) -> None:
    """The old schema cannot say "unknown"; going back must not fail on the rows that do."""
    from bg_agents.lib.db import migrate

    ledger = Ledger(engine, AGENT)
    ledger(CallRecord("llama-local", "ok", 5, Usage(None, 7), 1, "llama-local"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(LLMCall.__table__)).one()
    assert (row.prompt_tokens, row.completion_tokens, row.cost_usd) == (None, 7, None)
    assert (row.model, row.reported_model) == ("llama-local", "llama-local")

    migrate.downgrade(engine, "0001")
    with engine.connect() as conn:
        old = conn.execute(sa.text("select prompt_tokens, cost_usd from llm_calls")).one()
    assert tuple(old) == (0, 0)
    migrate.upgrade(engine)


# --- retry helpers --------------------------------------------------------------------------------


def _http_date(when: datetime) -> str:
    return email.utils.format_datetime(when, usegmt=when.tzinfo is not None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({}, None),
        (None, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # in the past
    ],
)
def test_parse_retry_after(headers: dict[str, str] | None, expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


@pytest.mark.parametrize("aware", [True, False], ids=["GMT", "no-zone"])
def test_parse_retry_after_http_date_in_the_future(aware: bool) -> None:
    """An HTTP date without a zone (``-0000``) is UTC too, not a crash."""
    when = datetime.now(UTC) + timedelta(seconds=30)
    header = _http_date(when if aware else when.replace(tzinfo=None))

    seconds = parse_retry_after({"retry-after": header})

    assert seconds is not None
    assert 25 <= seconds <= 30


def test_retry_delay_grows_with_jitter_inside_its_bounds() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.25)
    rng = random.Random(7)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(base * 0.75 <= d <= base * 1.25 for d in delays)
        assert max(delays) - min(delays) > base * 0.25  # jitter spreads clients apart
    capped = [policy.delay(attempt, None, rng) for attempt in range(5, 30) for _ in range(20)]
    assert all(10.0 * 0.75 <= d <= 10.0 for d in capped)


def test_retry_after_wins_when_it_is_longer_than_the_backoff() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=20.0, jitter=0.25)
    rng = random.Random(1)
    assert policy.delay(1, 5.0, rng) == 5.0
    assert policy.delay(10, 45.0, rng) == 45.0  # the server's ask beats max_delay
    assert 0.375 <= policy.delay(1, 0.01, rng) <= 0.625
