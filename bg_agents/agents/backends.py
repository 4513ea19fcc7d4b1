"""LLM backends behind one interface: the official ``openai`` client, and an offline one.

``OpenAIBackend`` talks to OpenAI or any OpenAI-compatible server (Ollama, vLLM, a gateway) through
``base_url``. It retries 429, 5xx, timeouts and connection errors itself, with exponential
backoff, jitter and the server's ``Retry-After``; the client's own retries are off so every attempt
is seen, counted and recorded. When retries run out it raises :class:`LLMUnavailable`, which
callers turn into their deterministic fallback.

``OfflineBackend`` needs no network or key: it answers with a per-agent *policy*, a plain function
that reads the conversation and decides the next tool calls or the final answer. It is what runs
when no API key is configured, and it is SIMULATED intelligence: rules, not a model.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import openai

from bg_agents.agents.messages import Message, ToolCall, Turn, Usage
from bg_agents.settings import LLMSettings


class LLMUnavailable(RuntimeError):
    """The model could not be reached after all retries (or refused the request)."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class AgentTimeout(LLMUnavailable):
    """The run's wall-time budget ran out before the model answered."""


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt (or offline answer), for the call ledger."""

    model: str
    # ok | rate_limited | server_error | timeout | connection_error | refused | bad_response
    outcome: str
    latency_ms: int
    usage: Usage = Usage()
    attempt: int = 1


Recorder = Callable[[CallRecord], None]


class ChatBackend(Protocol):
    name: str
    model: str

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        agent: str,
        timeout: float,
        response_format: dict[str, Any] | None = None,
        record: Recorder | None = None,
        deadline: float | None = None,
    ) -> Turn:
        """One assistant turn. ``timeout`` bounds each HTTP attempt; ``deadline`` (a
        ``time.monotonic()`` instant, the run's budget) bounds all attempts and waits together:
        past it, :class:`AgentTimeout`."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    # A server asking us to wait longer than this is treated as unavailable now.
    max_retry_after: float = 60.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        # Capped again after the jitter: max_delay is the longest we wait unless the server asks.
        backoff = min(self.max_delay, backoff * (1 + rng.uniform(-self.jitter, self.jitter)))
        return max(backoff, retry_after or 0.0)


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; RFC 5322 means UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _classify(exc: Exception) -> str | None:
    """The ledger outcome of a retryable error, or None when retrying cannot help."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return "rate_limited"
        if exc.status_code >= 500 or exc.status_code in (408, 409):
            return "server_error"
    return None


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str = "gpt-4o-mini",
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0)

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        agent: str,
        timeout: float,
        response_format: dict[str, Any] | None = None,
        record: Recorder | None = None,
        deadline: float | None = None,
    ) -> Turn:
        kwargs: dict[str, Any] = {"model": self.model, "messages": list(messages)}
        if tools:
            kwargs["tools"] = list(tools)
        if response_format:
            kwargs["response_format"] = response_format
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            attempt_timeout = timeout
            if deadline is not None:
                attempt_timeout = min(timeout, deadline - started)
                if attempt_timeout <= 0:
                    raise AgentTimeout(
                        f"{agent}: the run's time budget ran out before attempt {attempt}",
                        attempt - 1,
                    )
            try:
                response = self._client.chat.completions.create(**kwargs, timeout=attempt_timeout)
            except openai.APIError as exc:
                latency = int((time.monotonic() - started) * 1000)
                outcome = _classify(exc)
                if record:
                    record(CallRecord(self.model, outcome or "refused", latency, attempt=attempt))
                if outcome is None:
                    raise LLMUnavailable(
                        f"{agent}: the model refused the request: {exc}", attempt
                    ) from exc
                if attempt > self.retry.max_retries:
                    raise LLMUnavailable(
                        f"{agent}: no answer after {attempt} attempts (last: {outcome})", attempt
                    ) from exc
                headers = getattr(getattr(exc, "response", None), "headers", None)
                retry_after = parse_retry_after(headers)
                if retry_after is not None and retry_after > self.retry.max_retry_after:
                    raise LLMUnavailable(
                        f"{agent}: the server asks to retry after {retry_after:.0f}s", attempt
                    ) from exc
                delay = self.retry.delay(attempt, retry_after, self._rng)
                if deadline is not None and time.monotonic() + delay >= deadline:
                    raise AgentTimeout(
                        f"{agent}: the run's time budget ran out after {attempt} attempts "
                        f"(last: {outcome})",
                        attempt,
                    ) from exc
                self._sleep(delay)
                continue
            latency = int((time.monotonic() - started) * 1000)
            try:
                turn = _turn(response)
            except (AttributeError, IndexError, KeyError, TypeError) as exc:
                # A compatible server or gateway answering 200 with something else: callers must
                # get LLMUnavailable (their fallback path), not a crash. Retrying rarely helps.
                if record:
                    record(CallRecord(self.model, "bad_response", latency, attempt=attempt))
                raise LLMUnavailable(
                    f"{agent}: the server's answer is not a chat completion ({exc})", attempt
                ) from exc
            if record:
                record(CallRecord(turn.model or self.model, "ok", latency, turn.usage, attempt))
            return turn


def _turn(response: Any) -> Turn:
    choice = response.choices[0]
    message = choice.message
    calls = [
        ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "")
        for c in (message.tool_calls or [])
        if getattr(c, "function", None) is not None
    ]
    usage = response.usage
    return Turn(
        content=message.content,
        tool_calls=calls,
        usage=Usage(usage.prompt_tokens, usage.completion_tokens) if usage else Usage(),
        model=response.model or "",
        finish_reason=choice.finish_reason,
    )


# --- offline -------------------------------------------------------------------------------------

Policy = Callable[[Sequence[Message], Sequence[dict[str, Any]], dict[str, Any] | None], Turn]
_POLICIES: dict[str, Policy] = {}


def offline_policy(agent: str) -> Callable[[Policy], Policy]:
    """Register the offline (SIMULATED) behaviour of one agent."""

    def register(fn: Policy) -> Policy:
        _POLICIES[agent] = fn
        return fn

    return register


def estimate_tokens(messages: Sequence[Message]) -> int:
    """About four characters per token: enough for the ledger to show relative sizes."""
    return sum(len(json.dumps(m, default=str)) for m in messages) // 4


class OfflineBackend:
    """Deterministic answers from per-agent rules; same input, same output, no network."""

    name = "offline"
    model = "offline"

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[dict[str, Any]],
        *,
        agent: str,
        timeout: float,
        response_format: dict[str, Any] | None = None,
        record: Recorder | None = None,
        deadline: float | None = None,  # rules answer at once; accepted for the protocol
    ) -> Turn:
        policy = _POLICIES.get(agent)
        if policy is None:
            raise LLMUnavailable(f"no offline policy for agent {agent!r}", 1)
        started = time.monotonic()
        turn = policy(messages, tools, response_format)
        produced = len(turn.content or "") + sum(len(c.arguments) for c in turn.tool_calls)
        usage = Usage(estimate_tokens(messages), produced // 4)
        turn = Turn(turn.content, turn.tool_calls, usage, self.model, turn.finish_reason)
        if record:
            record(CallRecord(self.model, "ok", int((time.monotonic() - started) * 1000), usage))
        return turn


def build_backend(settings: LLMSettings, api_key: str | None) -> ChatBackend:
    """The backend the settings name; a local server that needs no key gets a placeholder."""
    if settings.backend == "offline":
        return OfflineBackend()
    return OpenAIBackend(
        api_key=api_key or "no-key-needed",
        model=settings.model,
        base_url=settings.base_url,
        retry=RetryPolicy(max_retries=settings.max_retries),
    )
