"""LLM backends behind one interface: the official ``openai`` client, and an offline one.

``OpenAIBackend`` talks to OpenAI or any OpenAI-compatible server (Ollama, vLLM, a gateway) through
``base_url``. It retries 429, 5xx, timeouts and connection errors itself, with exponential
backoff, jitter and the server's ``Retry-After``; the client's own retries are off so every attempt
is seen, counted and recorded. When retries run out it raises :class:`LLMUnavailable`, which
callers turn into their deterministic fallback. So does *any* answer that is not a usable chat
completion (invalid JSON, HTML, no choices, a body that never ends...): no server can crash a
caller. Usage the server reports is kept only when it is a plausible count; anything else is
unknown (``None``), never a guess.

``OfflineBackend`` needs no network or key: it answers with a per-agent *policy*, a plain function
that reads the conversation and decides the next tool calls or the final answer. It is what runs
when no API key is configured, and it is SIMULATED intelligence: rules, not a model.
"""

from __future__ import annotations

import functools
import json
import random
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2  # the openai client's HTTP library; we only give it a stricter transport
import openai

from bg_agents.lib.agents.messages import Message, ToolCall, Turn, Usage, redact, register_secret
from bg_agents.lib.retry_after import parse_retry_after
from bg_agents.lib.settings import LLMSettings

# Longest reason kept from a server's error: enough to act on, not a whole HTML error page.
MAX_REASON_CHARS = 300


class LLMUnavailable(RuntimeError):
    """The model could not be reached after all retries (or refused the request)."""

    def __init__(self, message: str, attempts: int) -> None:
        # Callers print and store this text: servers echo keys in their errors, and a body can
        # be a multi-line page of any size. One redacted line of bounded length.
        line = " ".join(redact(message).split())
        if len(line) > MAX_REASON_CHARS:
            line = line[: MAX_REASON_CHARS - 1] + "…"
        super().__init__(line)
        self.attempts = attempts


class AgentTimeout(LLMUnavailable):
    """The run's wall-time budget ran out before the model answered."""


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt (or offline answer), for the call ledger."""

    model: str  # what the server reported, else what was requested
    # ok | rate_limited | server_error | timeout | connection_error | refused | redirected
    # | bad_response
    outcome: str
    latency_ms: int
    # As reported: None where a count is unknown (the ledger stores NULL).
    tokens: Usage = Usage()
    attempt: int = 1
    reported_model: str | None = None  # the model name in the server's answer, if any

    @property
    def usage(self) -> Usage:
        """Known tokens with unknown counted as 0, for sums across calls."""
        return Usage(self.tokens.prompt_tokens or 0, self.tokens.completion_tokens or 0)


# A call whose answer never arrived or could not be read: the server may have used (and billed)
# tokens, but we cannot know how many.
UNKNOWN_USAGE = Usage(None, None)


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
        offline: Policy | None = None,
    ) -> Turn:
        """One assistant turn. ``timeout`` bounds each HTTP attempt; ``deadline`` (a
        ``time.monotonic()`` instant, the run's budget) bounds all attempts and waits together:
        past it, :class:`AgentTimeout`. ``offline`` is the agent's own SIMULATED behaviour,
        which only the offline backend uses."""
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The default TLS settings, built once per process: loading the CA bundle takes about 0.1 s,
    and every agent run builds a backend (SSL_CERT_FILE is read when the first one is built)."""
    return httpx2.create_ssl_context()


class _WholeAnswerTimeout(httpx2.BaseTransport):
    """Bounds the whole answer by the request's read timeout, not only each read.

    httpx's read timeout restarts with every chunk received, so a server that sends a byte a
    second would hold a call (and the agent run) forever; this transport ends such an answer with
    the same ``ReadTimeout`` a silent server gets, which the client reports as a timeout.
    """

    def __init__(self) -> None:
        self._inner = httpx2.HTTPTransport(verify=_tls_context())

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        started = time.monotonic()
        budget = (request.extensions.get("timeout") or {}).get("read")
        response = self._inner.handle_request(request)
        if budget is None:
            return response
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_DeadlineStream(response.stream, started + budget, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


class _DeadlineStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, deadline: float, request: httpx2.Request) -> None:
        self._inner, self._deadline, self._request = inner, deadline, request

    def __iter__(self) -> Any:
        for chunk in self._inner:
            if time.monotonic() > self._deadline:
                raise httpx2.ReadTimeout("the answer did not end in time", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


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


def _redirected(exc: Exception) -> str | None:
    """Where a 3xx answer points, or None when ``exc`` is no redirect."""
    if isinstance(exc, openai.APIStatusError) and 300 <= exc.status_code < 400:
        return exc.response.headers.get("location") or "nowhere"
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
        request_timeout: float | None = None,
    ) -> None:
        self.model = model
        # The configured bound on one whole request (BG_AGENTS_LLM_TIMEOUT). It caps whatever an
        # agent asks for, so the setting holds for every agent, not only those that pass it on.
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = random.Random(seed)
        if api_key != NO_KEY:
            register_secret(api_key)
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            # Not following redirects: a request carries a team's data, and goes to the
            # configured server only, never to wherever an answer points.
            http_client=openai.DefaultHttpxClient(
                transport=_WholeAnswerTimeout(), follow_redirects=False
            ),
        )

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
        offline: Policy | None = None,
    ) -> Turn:
        kwargs: dict[str, Any] = {"model": self.model, "messages": list(messages)}
        if tools:
            kwargs["tools"] = list(tools)
        if response_format:
            kwargs["response_format"] = response_format
        if self.request_timeout is not None:
            timeout = min(timeout, self.request_timeout)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            attempt_timeout = _attempt_timeout(agent, attempt, timeout, deadline, started)
            # Exceptions are re-raised `from None`: the client's own exception text may quote
            # the key or the server's body, and a chained traceback would print it.
            try:
                response = self._client.chat.completions.create(**kwargs, timeout=attempt_timeout)
            except openai.APIError as exc:
                self._sleep(self._retry_delay(exc, agent, attempt, started, record, deadline))
                continue
            except Exception as exc:  # noqa: BLE001 - whatever the body was, it is no answer
                # The client parses the body after a 2xx: invalid or truncated JSON surfaces
                # here as its decoder's error. Like any unreadable answer: the fallback path.
                response, problem = None, f"{type(exc).__name__}: {exc}"
            else:
                problem = None
            return self._answer(response, problem, agent, attempt, started, record)

    def _retry_delay(
        self,
        exc: openai.APIError,
        agent: str,
        attempt: int,
        started: float,
        record: Recorder | None,
        deadline: float | None,
    ) -> float:
        """Record a failed attempt; how long to wait before the next, or LLMUnavailable."""
        latency = int((time.monotonic() - started) * 1000)
        outcome = _classify(exc)
        location = _redirected(exc)
        if record:
            # An error status answered by the server used no tokens; a timeout or a lost
            # connection may have, unknown how many.
            answered = isinstance(exc, openai.APIStatusError)
            tokens = Usage() if answered else UNKNOWN_USAGE
            final = outcome or ("redirected" if location else "refused")
            record(CallRecord(self.model, final, latency, tokens, attempt))
        if location is not None:
            raise LLMUnavailable(
                f"{agent}: the server redirects to {location}; set the base URL to the "
                "final address (requests carry team data and follow no redirect)",
                attempt,
            ) from None
        if outcome is None:
            raise LLMUnavailable(
                f"{agent}: the model refused the request: {exc}", attempt
            ) from None
        if attempt > self.retry.max_retries:
            raise LLMUnavailable(
                f"{agent}: no answer after {attempt} attempts (last: {outcome})", attempt
            ) from None
        headers = getattr(getattr(exc, "response", None), "headers", None)
        retry_after = parse_retry_after(headers)
        if retry_after is not None and retry_after > self.retry.max_retry_after:
            raise LLMUnavailable(
                f"{agent}: the server asks to retry after {retry_after:.0f}s", attempt
            ) from None
        delay = self.retry.delay(attempt, retry_after, self._rng)
        if deadline is not None and time.monotonic() + delay >= deadline:
            raise AgentTimeout(
                f"{agent}: the run's time budget ran out after {attempt} attempts "
                f"(last: {outcome})",
                attempt,
            ) from None
        return delay

    def _answer(
        self,
        response: Any,
        problem: str | None,
        agent: str,
        attempt: int,
        started: float,
        record: Recorder | None,
    ) -> Turn:
        """The turn of a 2xx answer, recorded; LLMUnavailable when it is no chat completion."""
        latency = int((time.monotonic() - started) * 1000)
        try:
            turn = _turn(response) if problem is None else None
        except BadCompletion as exc:
            problem = str(exc)
            turn = None
        if turn is None:
            # A compatible server or gateway answering 2xx with something else: callers must
            # get LLMUnavailable (their fallback path), not a crash. Retrying rarely helps.
            if record:
                reported = _reported_model(response)
                record(
                    CallRecord(
                        reported or self.model,
                        "bad_response",
                        latency,
                        UNKNOWN_USAGE,
                        attempt,
                        reported,
                    )
                )
            raise LLMUnavailable(
                f"{agent}: the server's answer is not a chat completion ({problem})", attempt
            ) from None
        if record:
            record(
                CallRecord(
                    turn.model or self.model,
                    "ok",
                    latency,
                    turn.usage,
                    attempt,
                    turn.model or None,
                )
            )
        return turn


def _attempt_timeout(
    agent: str, attempt: int, timeout: float, deadline: float | None, started: float
) -> float:
    """This attempt's timeout: ``timeout``, cut to what is left of the run's time budget."""
    attempt_timeout = timeout
    if deadline is not None:
        attempt_timeout = min(timeout, deadline - started)
        if attempt_timeout <= 0:
            raise AgentTimeout(
                f"{agent}: the run's time budget ran out before attempt {attempt}",
                attempt - 1,
            )
    return attempt_timeout


class BadCompletion(ValueError):
    """A 2xx answer that is not a usable chat completion; the text says what is wrong."""


# A count above this is not a real token count (and would overflow the ledger's INTEGER column).
MAX_TOKENS_PER_CALL = 2**31 - 1
MODEL_NAME_LENGTH = 100  # the ledger's column


def _field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``: the client builds models without validating, so a field of
    an unexpected shape stays a raw dict, list, string or number."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _count(value: Any) -> int | None:
    """A token count as reported, or None when it is not a plausible one (null, negative,
    a string, a float, a bool, astronomically large)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS_PER_CALL:
        return value
    return None


def _reported_model(response: Any) -> str | None:
    """The model name the answer gave, redacted and cut to the ledger's column; None if none."""
    name = _field(response, "model") if response is not None else None
    if not isinstance(name, str) or not name.strip():
        return None
    return redact(name.strip())[:MODEL_NAME_LENGTH]


def _tool_call(raw: Any) -> ToolCall:
    function = _field(raw, "function")
    call_id, name = _field(raw, "id"), _field(function, "name")
    arguments = _field(function, "arguments")
    if not isinstance(call_id, str) or not call_id or not isinstance(name, str) or not name:
        raise BadCompletion("a tool call without an id or a function name")
    if isinstance(arguments, dict):  # some servers send the object itself
        arguments = json.dumps(arguments)
    if arguments is not None and not isinstance(arguments, str):
        raise BadCompletion(f"tool call arguments of type {type(arguments).__name__}")
    return ToolCall(id=call_id, name=name, arguments=arguments or "")


def _turn(response: Any) -> Turn:
    """The assistant turn of a chat completion; :class:`BadCompletion` says why there is none."""
    if response is None or isinstance(response, str | bytes | int | float | list):
        kind = "text" if isinstance(response, str) else type(response).__name__
        raise BadCompletion(f"the body is {kind}, not a JSON object")
    choices = _field(response, "choices")
    if not isinstance(choices, list) or not choices:
        raise BadCompletion("no choices")
    choice = choices[0]
    message = _field(choice, "message")
    if message is None or isinstance(message, str | int | float | list):
        raise BadCompletion("the choice has no message")
    content = _field(message, "content")
    if content is not None and not isinstance(content, str):
        raise BadCompletion(f"message content of type {type(content).__name__}")
    raw_calls = _field(message, "tool_calls") or []
    if not isinstance(raw_calls, list):
        raise BadCompletion("tool_calls is not a list")
    calls = [_tool_call(c) for c in raw_calls]
    if not calls and not (content or "").strip():
        finish = _field(choice, "finish_reason")
        raise BadCompletion(f"neither text nor tool calls (finish_reason: {finish})")
    usage = _field(response, "usage")
    finish_reason = _field(choice, "finish_reason")
    return Turn(
        content=content,
        tool_calls=calls,
        usage=Usage(
            _count(_field(usage, "prompt_tokens")), _count(_field(usage, "completion_tokens"))
        )
        if usage is not None
        else UNKNOWN_USAGE,
        model=_reported_model(response) or "",
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
    )


# --- offline -------------------------------------------------------------------------------------

# An agent's offline (SIMULATED) behaviour. Each agent passes its own to ``run_agent`` beside its
# prompt and tools: no registry filled as a side effect of importing a module.
Policy = Callable[[Sequence[Message], Sequence[dict[str, Any]], dict[str, Any] | None], Turn]


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
        offline: Policy | None = None,
    ) -> Turn:
        policy = offline
        if policy is None:
            raise LLMUnavailable(f"no offline policy for agent {agent!r}", 1)
        started = time.monotonic()
        turn = policy(messages, tools, response_format)
        produced = len(turn.content or "") + sum(len(c.arguments) for c in turn.tool_calls)
        usage = Usage(estimate_tokens(messages), produced // 4)
        turn = Turn(turn.content, turn.tool_calls, usage, self.model, turn.finish_reason)
        if record:
            latency = int((time.monotonic() - started) * 1000)
            record(CallRecord(self.model, "ok", latency, usage))
        return turn


NO_KEY = "no-key-needed"  # what a local server that needs no key gets; not a secret


def build_backend(settings: LLMSettings, api_key: str | None) -> ChatBackend:
    """The backend the settings name; a local server that needs no key gets a placeholder."""
    if settings.backend == "offline":
        return OfflineBackend()
    return OpenAIBackend(
        api_key=api_key or NO_KEY,
        model=settings.model,
        base_url=settings.base_url,
        retry=RetryPolicy(max_retries=settings.max_retries),
        request_timeout=settings.request_timeout,
    )
