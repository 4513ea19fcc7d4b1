"""A SIMULATED company-data provider on 127.0.0.1 that answers as a test scripts it.

``script(domain, *answers)`` queues answers for ``GET /companies?domain=<domain>`` (the last one
repeats); an unscripted domain answers 404. Every request is recorded (domain, Authorization
header, arrival time), so a test proves what reached the server, not what the client believes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Answer:
    """A status, a body (a dict is sent as JSON), headers, and a delay before answering."""

    code: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def found(domain: str, **fields: Any) -> Answer:
    return Answer(200, {"domain": domain, **fields})


NOT_FOUND = Answer(404, {"error": "unknown domain"})
SERVER_ERROR = Answer(500, b"internal error")
MALFORMED = Answer(200, b'{"name": "Acme", ', {"Content-Type": "application/json"})


def too_many(retry_after: str) -> Answer:
    return Answer(429, b"slow down", {"Retry-After": retry_after})


@dataclass(frozen=True)
class Request:
    domain: str
    authorization: str | None
    at: float  # time.monotonic() on arrival


class ScriptedProvider:
    """The server, started on entering the context and stopped on leaving it."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._scripts: dict[str, deque[Answer]] = {}
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                domain = parse_qs(parts.query).get("domain", [""])[0]
                answer = stub._next(domain, parts.path, self.headers.get("Authorization"))
                if answer.delay:
                    time.sleep(answer.delay)
                body = answer.body
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                self.send_response(answer.code)
                self.send_header("Content-Length", str(len(body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                # A client that gave up waiting has closed the connection.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, domain: str, *answers: Answer) -> None:
        with self._lock:
            self._scripts[domain] = deque(answers)

    def count(self, domain: str | None = None) -> int:
        """Requests received (for ``domain``, else all)."""
        with self._lock:
            return sum(1 for r in self.requests if domain is None or r.domain == domain)

    def _next(self, domain: str, path: str, authorization: str | None) -> Answer:
        with self._lock:
            self.requests.append(Request(domain, authorization, time.monotonic()))
            if path != "/companies":
                return Answer(400, b"unknown path")
            queue = self._scripts.get(domain)
            if not queue:
                return NOT_FOUND
            return queue.popleft() if len(queue) > 1 else queue[0]

    def __enter__(self) -> ScriptedProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
