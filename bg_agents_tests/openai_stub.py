"""A scripted OpenAI-compatible chat-completions server, so tests drive the real ``openai`` client.

Tests queue *steps* (a full response, an HTTP error, raw bytes, a body that never ends, a delay,
or a callable deciding from the request) and the server answers each POST /v1/chat/completions
with the next one, recording what the client sent and when. An empty queue answers 500 with a
message saying so, which the client sees as a server error: a test that asks for more than it
scripted fails instead of hanging.

    with ScriptedOpenAI(tool_calls([("add", {"a": 1, "b": 2})]), reply("3")) as server:
        backend = OpenAIBackend(api_key="test", base_url=server.base_url)
        ...
        assert server.requests[1].body["messages"][-1]["role"] == "tool"
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Response:
    """Answer with this status, JSON body and headers."""

    body: dict[str, Any]
    code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def call_ids(self) -> list[str]:
        """The tool_call ids of a ``tool_calls`` response, in order."""
        message = self.body["choices"][0]["message"]
        return [c["id"] for c in message.get("tool_calls") or []]


@dataclass(frozen=True)
class Raw:
    """Answer with these exact bytes: broken JSON, HTML, an empty body, any content type.

    ``length`` overrides the Content-Length header (a larger value with the connection then
    closed is a body cut off in transit)."""

    body: bytes
    code: int = 200
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    length: int | None = None


@dataclass(frozen=True)
class Trickle:
    """Send the headers, then ``chunk`` every ``every`` seconds until the client hangs up: a
    response that never ends, each read arriving well inside a per-read timeout."""

    chunk: bytes = b" "
    every: float = 0.1
    content_type: str = "application/json"
    prefix: bytes = b""


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds`` before answering with ``then`` (to run into the client's timeout)."""

    seconds: float
    then: Step


@dataclass(frozen=True)
class Repeat:
    """A step that is never used up: every later request gets it (an endless model)."""

    step: Step


Dynamic = Callable[[dict[str, Any]], "Step"]
Step = Response | Raw | Trickle | Slow | Repeat | Dynamic


@dataclass(frozen=True)
class Request:
    """One request as the server saw it; ``at`` is ``time.monotonic()`` on arrival."""

    body: dict[str, Any]
    headers: dict[str, str]
    at: float
    path: str


def _completion(
    message: dict[str, Any],
    finish_reason: str,
    model: str | None,
    prompt_tokens: int,
    completion_tokens: int,
) -> Response:
    body = {
        "id": f"chatcmpl-stub-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,  # None: the server echoes the requested model
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return Response(body)


def reply(
    text: str | None,
    *,
    model: str | None = None,
    prompt_tokens: int = 20,
    completion_tokens: int = 10,
) -> Response:
    """A final assistant answer."""
    message = {"role": "assistant", "content": text, "refusal": None}
    return _completion(message, "stop", model, prompt_tokens, completion_tokens)


def tool_calls(
    calls: Iterable[tuple[str, str | Mapping[str, Any]]],
    *,
    content: str | None = None,
    model: str | None = None,
    prompt_tokens: int = 20,
    completion_tokens: int = 10,
) -> Response:
    """An assistant turn calling tools; a ``str`` argument is sent verbatim (it may be broken)."""
    message = {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "tool_calls": [
            {
                "id": f"call_stub_{next(_ids)}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(dict(args)),
                },
            }
            for name, args in calls
        ],
    }
    return _completion(message, "tool_calls", model, prompt_tokens, completion_tokens)


def status(code: int, *, headers: Mapping[str, str] | None = None, message: str = "") -> Response:
    """An error in the OpenAI error shape, e.g. ``status(429, headers={"Retry-After": "1"})``."""
    error = {
        "message": message or f"scripted HTTP {code}",
        "type": "scripted_error",
        "param": None,
        "code": None,
    }
    return Response({"error": error}, code=code, headers=dict(headers or {}))


def raw(
    body: bytes | str,
    *,
    code: int = 200,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
    length: int | None = None,
) -> Raw:
    """Exact bytes with this status and content type (``str`` is sent as UTF-8)."""
    data = body.encode() if isinstance(body, str) else body
    return Raw(data, code, content_type, dict(headers or {}), length)


def slow(seconds: float, then: Step) -> Slow:
    return Slow(seconds, then)


def repeat(step: Step) -> Repeat:
    """Answer every remaining request with ``step``; pass a callable for fresh tool-call ids."""
    return Repeat(step)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0: one request per connection, so no handler thread lingers on a kept-alive socket.
    protocol_version = "HTTP/1.0"
    timeout = 10  # a client that stalls mid-request cannot pin a thread forever

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw.decode(errors="replace")}
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(body, headers, arrived, self.path)
        stub = self.server.stub
        if self.path != CHAT_PATH:
            stub._record(request)
            self._send(status(404, message=f"ScriptedOpenAI serves only POST {CHAT_PATH}"))
            return
        step = stub._next(request)
        while True:
            if isinstance(step, Slow):
                if stub._closing.wait(step.seconds):
                    return  # shutting down: drop the connection instead of answering late
                step = step.then
            elif isinstance(step, Response | Raw | Trickle):
                break
            else:
                step = step(body)
        if isinstance(step, Raw):
            self._send_raw(step)
            return
        if isinstance(step, Trickle):
            self._trickle(step)
            return
        if step.code == 200 and step.body.get("model") is None:
            step = Response({**step.body, "model": body.get("model", "")}, 200, step.headers)
        self._send(step)

    def _send(self, response: Response) -> None:
        payload = json.dumps(response.body).encode()
        try:
            self.send_response(response.code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout); that is what a slow step is for

    def _send_raw(self, raw: Raw) -> None:
        try:
            self.send_response(raw.code)
            self.send_header("Content-Type", raw.content_type)
            self.send_header(
                "Content-Length", str(len(raw.body) if raw.length is None else raw.length)
            )
            for name, value in raw.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _trickle(self, trickle: Trickle) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", trickle.content_type)
            self.end_headers()  # no Content-Length: HTTP/1.0 ends the body when we close
            self.wfile.write(trickle.prefix)
            self.wfile.flush()
            while not self.server.stub._closing.wait(trickle.every):
                self.wfile.write(trickle.chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, which is what a never-ending answer is for

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass  # keep test output clean; the requests are recorded instead


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins handler threads: nothing outlives the stub
    stub: ScriptedOpenAI


class ScriptedOpenAI:
    """Context manager: a chat-completions server on 127.0.0.1 answering from a script."""

    def __init__(self, *steps: Step) -> None:
        self._steps: deque[Step] = deque(steps)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.requests: list[Request] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def script(self, *steps: Step) -> None:
        """Queue more steps."""
        with self._lock:
            self._steps.extend(steps)

    @property
    def remaining(self) -> int:
        """Steps not yet used (a ``repeat`` counts as one and is never used up)."""
        with self._lock:
            return len(self._steps)

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("ScriptedOpenAI is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in order."""
        with self._lock:
            return [r.body for r in self.requests]

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self, request: Request) -> Step:
        with self._lock:
            self.requests.append(request)
            number = len(self.requests)
            if not self._steps:
                return status(
                    500,
                    message=f"ScriptedOpenAI: no scripted step left for request #{number}",
                )
            if isinstance(self._steps[0], Repeat):
                return self._steps[0].step
            return self._steps.popleft()

    def __enter__(self) -> ScriptedOpenAI:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting, wake any slow step, and wait for every thread to finish."""
        if self._server is None:
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
