"""The notification benchmark's receivers, each in its own process: an SMTP server (aiosmtpd) and a
webhook receiver (``http.server``) on 127.0.0.1.

A separate process, so the receivers' work is not charged to the engine's interpreter (on one
process the GIL would make both look slower), yet both run on this machine as a local relay would.
Each receiver records what it accepted (e-mail ``Message-ID``s; webhook ``X-BG-Delivery`` keys and
whether the signature verified) and hands the list back when stopped, so the benchmark can count
what actually arrived rather than what the engine says it sent.
"""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def webhook_secret(seed: str, team_id: int) -> str:
    """Each endpoint's signing secret, derivable by the receiver from the URL's team id."""
    return "whsec_" + hmac.new(seed.encode(), str(team_id).encode(), hashlib.sha256).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mailbox:
    """aiosmtpd handler: accept everything, keep each message's Message-ID and recipients."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.recipients = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        self.ids.append(found.group(1).decode() if found else "")
        self.recipients += len(envelope.rcpt_tos)
        return "250 Message accepted"


def _smtp(pipe: Connection) -> None:
    from aiosmtpd.controller import Controller

    mailbox = _Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    pipe.send(port)
    pipe.recv()  # stop
    controller.stop()
    pipe.send({"ids": mailbox.ids, "recipients": mailbox.recipients})


def _webhooks(pipe: Connection, seed: str) -> None:
    from bg_agents.defs.notifications.channels.webhook import verify_signature

    received: list[tuple[str, bool]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the sender's pooled client expects

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            team = self.path.rstrip("/").rsplit("/", 1)[-1]
            stamp = self.headers.get("X-BG-Timestamp") or "0"
            # The benchmark's clock is pinned in the past: verify the signature at its own
            # timestamp (the replay window is the channel tests' business, not a benchmark's).
            at = datetime.fromtimestamp(int(stamp) if stamp.isdigit() else 0, UTC)
            ok = team.isdigit() and verify_signature(
                webhook_secret(seed, int(team)), dict(self.headers.items()), body, at
            )
            with lock:
                received.append((self.headers.get("X-BG-Delivery") or "", ok))
            self.send_response(204 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pipe.send(server.server_address[1])
    pipe.recv()  # stop
    server.shutdown()
    with lock:
        pipe.send({"received": list(received)})


class Receiver:
    """A receiver process: ``port`` while it runs; ``stop()`` returns what it recorded."""

    def __init__(self, target: Any, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=target, args=(child, *args), daemon=True)
        self._process.start()
        if not self._pipe.poll(60):
            self._process.kill()
            raise RuntimeError("the benchmark's receiver did not start within 60 s")
        self.port: int = self._pipe.recv()
        self.recorded: dict[str, Any] | None = None

    def stop(self) -> dict[str, Any]:
        if self.recorded is None:
            self._pipe.send("stop")
            self.recorded = self._pipe.recv()
            self._process.join(10)
        return self.recorded

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


@contextmanager
def receivers(seed: str) -> Iterator[tuple[Receiver, Receiver]]:
    """An SMTP server and a webhook receiver, each in its own process, killed on the way out."""
    smtp = Receiver(_smtp)
    try:
        hooks = Receiver(_webhooks, seed)
        try:
            yield smtp, hooks
        finally:
            hooks.kill()
    finally:
        smtp.kill()
