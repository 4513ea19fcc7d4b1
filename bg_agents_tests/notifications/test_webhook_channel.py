"""The webhook channel against real receivers on 127.0.0.1: signed deliveries a receiver verifies,
how each kind of failure is classified, a receiver that never answers, and the payloads.

``Receiver`` is reusable: each path answers as scripted, every POST is recorded with whether its
signature verified, so engine tests can count what a receiver actually accepted.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bg_agents.defs.notifications.channels.base import DeliveryError, Outgoing
from bg_agents.defs.notifications.channels.webhook import (
    WebhookError,
    WebhookJob,
    WebhookSender,
    signed_headers,
    verify_signature,
    webhook_body,
)

SECRET = "whsec_test-secret-0123456789"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Answer:
    """How a path answers a POST: a status, a body, headers; ``trickle``: a 200 whose body never
    ends (a byte every 0.1 s)."""

    code: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    trickle: bool = False


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float  # time.monotonic() on arrival

    @property
    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.body)


class Receiver:
    """An HTTP/1.1 (keep-alive) server in a thread. ``script(path, *answers)`` queues answers for
    a path (the last one repeats); unscripted paths answer 200. Signatures are checked against
    ``secret`` with the real clock, so tests sign with ``datetime.now(UTC)``."""

    def __init__(
        self, secret: str = SECRET, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> None:
        self.secret = secret
        self.received: list[Received] = []
        self.connections: set[int] = set()  # client ports seen: one per TCP connection
        self._scripts: dict[str, deque[Answer]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms ACK wait

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = receiver._record(self, body)
                self.send_response(answer.code)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.trickle:
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    try:
                        for _ in range(600):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.1)
                    except OSError:
                        pass  # the client hung up, as it should
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        if tls is not None:  # https: the handshake on each accepted connection
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> Answer:
        headers = dict(handler.headers.items())
        verified = verify_signature(self.secret, handler.headers, body, now=time.time())
        with self._lock:
            self.connections.add(handler.client_address[1])
            self.received.append(Received(handler.path, headers, body, verified, time.monotonic()))
            queue = self._scripts.get(handler.path)
            if not queue:
                return Answer()
            return queue.popleft() if len(queue) > 1 else queue[0]

    def script(self, path: str, *answers: Answer) -> str:
        self._scripts[path] = deque(answers)
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def silent() -> Iterator[str]:
    """A URL whose server accepts connections (the kernel completes them) and never answers."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        sock.close()


FAST = httpx.Timeout(connect=1.0, read=1.5, write=1.0, pool=1.0)


def outgoing(**changes: object) -> Outgoing:
    fields: dict[str, object] = {
        "key": "msg:acme:invoice_paid:2026-03-02T09:00",
        "team_slug": "acme",
        "team_name": "Acme & Sons",
        "category": "invoice_paid",
        "title": "3 invoices paid",
        "body": "You have 3 paid invoices: INV-1, INV-2, INV-3",
        "locale": "en_US",
        "created_at": NOW,
        "items": [
            {"title": "INV-1 paid", "body": "500.00 EUR from Globex"},
            {"title": "INV-2 paid", "body": "20.00 EUR from <!channel> & co"},
        ],
        "more": 1,
    }
    return Outgoing(**(fields | changes))  # type: ignore[arg-type]


def send(sender: WebhookSender, url: str, body: bytes = b'{"a":1}', key: str = "k1") -> None:
    sender.send(url, SECRET, body, key, datetime.now(UTC))


# -- delivered and verified ---------------------------------------------------------------------


def test_a_delivery_arrives_signed_and_the_receiver_verifies_it(receiver: Receiver) -> None:
    body = webhook_body(outgoing(), slack=False)
    with WebhookSender() as sender:
        send(sender, receiver.url("/hook"), body, key="delivery-42")
    (got,) = receiver.received
    assert got.verified and got.body == body
    assert got.headers["X-BG-Delivery"] == "delivery-42"
    assert got.headers["Content-Type"] == "application/json"
    assert got.json["id"] == "msg:acme:invoice_paid:2026-03-02T09:00"
    # The receiver's own secret is what makes it trust the body: another secret refuses it.
    assert not verify_signature("whsec_someone-else-000000", got.headers, got.body, time.time())


def test_the_default_payload_is_the_documented_json() -> None:
    payload = json.loads(webhook_body(outgoing(), slack=False))
    assert payload == {
        "id": "msg:acme:invoice_paid:2026-03-02T09:00",
        "team": "acme",
        "category": "invoice_paid",
        "title": "3 invoices paid",
        "text": "You have 3 paid invoices: INV-1, INV-2, INV-3",
        "items": [
            {"title": "INV-1 paid", "body": "500.00 EUR from Globex"},
            {"title": "INV-2 paid", "body": "20.00 EUR from <!channel> & co"},
        ],
        "more": 1,
        "created_at": "2026-03-02T09:00:00Z",
    }
    # An instant in another zone is written in UTC.
    later = NOW.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kathmandu"))
    assert json.loads(webhook_body(outgoing(created_at=later), slack=False))["created_at"] == (
        "2026-03-02T09:00:00Z"
    )


# -- verify_signature: what a receiver relies on ------------------------------------------------


def test_a_tampered_body_a_stale_or_future_timestamp_and_missing_headers_are_refused() -> None:
    body = b'{"amount":"10.00"}'
    headers = signed_headers(SECRET, body, "k", NOW)
    assert verify_signature(SECRET, headers, body, NOW)
    assert verify_signature(SECRET, headers, body, NOW + timedelta(seconds=300))
    assert not verify_signature(SECRET, headers, b'{"amount":"99.00"}', NOW)  # tampered
    assert not verify_signature(SECRET, headers, body, NOW + timedelta(seconds=301))  # a replay
    assert not verify_signature(SECRET, headers, body, NOW - timedelta(seconds=301))  # future
    assert verify_signature(SECRET, headers, body, NOW + timedelta(seconds=50), tolerance=60)
    assert not verify_signature(SECRET, headers, body, NOW + timedelta(seconds=61), tolerance=60)
    # A re-signed timestamp does not carry an old signature along.
    moved = headers | {"X-BG-Timestamp": str(int(NOW.timestamp()) + 1)}
    assert not verify_signature(SECRET, moved, body, NOW)
    for missing in ("X-BG-Timestamp", "X-BG-Signature"):
        assert not verify_signature(SECRET, {k: v for k, v in headers.items() if k != missing},
                                    body, NOW)  # fmt: skip
    assert not verify_signature(SECRET, headers | {"X-BG-Timestamp": "soon"}, body, NOW)
    assert not verify_signature(SECRET, headers | {"X-BG-Signature": "v1=00"}, body, NOW)


def test_headers_in_any_case_and_several_signatures_during_a_secret_rotation() -> None:
    body = b"{}"
    headers = signed_headers(SECRET, body, "k", NOW)
    lower = {k.lower(): v for k, v in headers.items()}
    assert verify_signature(SECRET, lower, body, NOW.timestamp())
    old = signed_headers("whsec_the-previous-secret-00", body, "k", NOW)["X-BG-Signature"]
    both = lower | {"x-bg-signature": f"{old}, {headers['X-BG-Signature']}"}
    assert verify_signature(SECRET, both, body, NOW)
    assert verify_signature("whsec_the-previous-secret-00", both, body, NOW)


# -- failures: transient or final ---------------------------------------------------------------


def test_a_500_is_transient_and_quotes_at_most_200_characters_of_the_answer(
    receiver: Receiver,
) -> None:
    url = receiver.script("/down", Answer(500, b"E" * 5000))
    with WebhookSender() as sender, pytest.raises(WebhookError) as caught:
        send(sender, url)
    err = caught.value
    assert isinstance(err, DeliveryError) and err.transient and err.status == 500
    assert str(err) == "HTTP 500: " + "E" * 200
    assert url not in str(err) and "127.0.0.1" not in str(err)


def test_a_404_is_final_and_a_redirect_is_final_and_not_followed(receiver: Receiver) -> None:
    gone = receiver.script("/gone", Answer(404, b"no such hook"))
    moved = receiver.script("/moved", Answer(302, b"", {"Location": receiver.url("/elsewhere")}))
    with WebhookSender() as sender:
        with pytest.raises(WebhookError) as caught:
            send(sender, gone)
        assert not caught.value.transient and str(caught.value) == "HTTP 404: no such hook"
        with pytest.raises(WebhookError) as caught:
            send(sender, moved)
    assert not caught.value.transient and "redirect: not followed" in str(caught.value)
    assert receiver.at("/elsewhere") == []  # the signed body went nowhere else


def test_a_429_is_transient_with_its_retry_after_in_seconds_or_as_a_date(
    receiver: Receiver,
) -> None:
    busy = receiver.script("/busy", Answer(429, b"slow down", {"Retry-After": "7"}))
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=120)
    dated = receiver.script(
        "/dated", Answer(503, b"", {"Retry-After": format_datetime(when, True)})
    )
    with WebhookSender() as sender:
        with pytest.raises(WebhookError) as caught:
            send(sender, busy)
        assert caught.value.transient and caught.value.retry_after == 7.0
        with pytest.raises(WebhookError) as caught:
            send(sender, dated)
    assert caught.value.transient and caught.value.status == 503
    assert caught.value.retry_after is not None and 115 <= caught.value.retry_after <= 121


def test_a_refused_connection_is_transient() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    with WebhookSender(timeout=FAST) as sender, pytest.raises(WebhookError) as caught:
        send(sender, f"http://127.0.0.1:{port}/hook")
    assert caught.value.transient and "connection failed" in str(caught.value)


def test_a_receiver_that_never_answers_is_transient_after_the_read_timeout(silent: str) -> None:
    with WebhookSender(timeout=FAST) as sender:
        started = time.monotonic()
        with pytest.raises(WebhookError) as caught:
            send(sender, silent)
        took = time.monotonic() - started
    assert caught.value.transient and "no answer within 1.5 s" in str(caught.value)
    assert 1.4 <= took < 3.0


def test_an_answer_that_never_ends_is_cut_at_the_whole_answer_deadline(receiver: Receiver) -> None:
    url = receiver.script("/trickle", Answer(200, trickle=True))
    with WebhookSender(timeout=FAST, answer_timeout=1.0) as sender:
        started = time.monotonic()
        with pytest.raises(WebhookError) as caught:
            send(sender, url)
        took = time.monotonic() - started
    assert caught.value.transient and "did not end within 1 s" in str(caught.value)
    assert took < 2.5  # each byte arrives inside the read timeout; the deadline still ends it


def test_a_stuck_endpoint_does_not_hold_up_the_others(receiver: Receiver, silent: str) -> None:
    """The stuck POST costs its timeout on its own worker while the others are delivered."""
    timeout = httpx.Timeout(connect=1.0, read=2.5, write=1.0, pool=1.0)
    now = datetime.now(UTC)
    jobs = [
        WebhookJob(silent, SECRET, b'{"n":0}', "stuck", now),
        WebhookJob(receiver.url("/a"), SECRET, b'{"n":1}', "a", now),
        WebhookJob(receiver.url("/b"), SECRET, b'{"n":2}', "b", now),
    ]
    with WebhookSender(timeout=timeout) as sender:
        started = time.monotonic()
        results = sender.send_many(jobs, max_workers=8)
        took = time.monotonic() - started
    stuck, a, b = results
    assert isinstance(stuck, WebhookError) and stuck.transient
    assert a is None and b is None
    arrived = [r.at - started for r in receiver.received]
    assert len(arrived) == 2 and max(arrived) < 1.0, arrived
    assert all(r.verified for r in receiver.received)
    assert 2.4 <= took < 4.0  # the whole batch costs the one timeout, not a sum


def test_send_many_gives_one_result_per_job_in_order(receiver: Receiver) -> None:
    ok, gone = receiver.url("/ok"), receiver.script("/gone", Answer(410, b"gone"))
    now = datetime.now(UTC)
    jobs = [WebhookJob(url, SECRET, b"{}", f"k{i}", now) for i, url in enumerate([ok, gone, ok])]
    with WebhookSender() as sender:
        assert sender.send_many([]) == []
        first, second, third = sender.send_many(jobs, max_workers=2)
    assert first is None and third is None
    assert isinstance(second, WebhookError) and not second.transient and second.status == 410
    assert sorted(r.headers["X-BG-Delivery"] for r in receiver.received) == ["k0", "k1", "k2"]


def test_an_unsupported_url_is_final_without_a_network_call() -> None:
    with WebhookSender() as sender, pytest.raises(WebhookError) as caught:
        send(sender, "ftp://127.0.0.1/hook")
    assert not caught.value.transient


def test_sequential_posts_reuse_one_keep_alive_connection(receiver: Receiver) -> None:
    with WebhookSender() as sender:
        for i in range(50):
            send(sender, receiver.url("/hook"), key=f"k{i}")
    assert len(receiver.received) == 50 and all(r.verified for r in receiver.received)
    assert len(receiver.connections) == 1


# -- Slack --------------------------------------------------------------------------------------


def test_the_slack_payload_has_text_and_blocks_with_slacks_characters_escaped() -> None:
    payload = json.loads(webhook_body(outgoing(), slack=True))
    assert set(payload) == {"text", "blocks"}
    header, section, context = payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "3 invoices paid", "emoji": True},
    }
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"] == (
        "• *INV-1 paid* – 500.00 EUR from Globex\n"
        "• *INV-2 paid* – 20.00 EUR from &lt;!channel&gt; &amp; co\n"
        "_and 1 more_"
    )
    assert context["type"] == "context"
    assert context["elements"] == [
        {"type": "mrkdwn", "text": "Acme &amp; Sons · invoice_paid · 2026-03-02T09:00:00Z"}
    ]
    assert payload["text"] == "3 invoices paid: You have 3 paid invoices: INV-1, INV-2, INV-3"


def test_a_single_message_and_oversized_text_stay_within_slacks_limits() -> None:
    single = json.loads(webhook_body(outgoing(items=[], more=0, body="a < b & c"), slack=True))
    assert single["blocks"][1]["text"]["text"] == "a &lt; b &amp; c"

    huge = outgoing(
        title="T" * 400,
        body="&" * 5000,
        items=[{"title": f"item {i}", "body": "x" * 100} for i in range(100)],
        more=5,
    )
    payload = json.loads(webhook_body(huge, slack=True))
    header, section, _ = payload["blocks"]
    assert len(header["text"]["text"]) <= 150
    text = section["text"]["text"]
    assert len(text) <= 3000
    shown = text.count("• *item")
    assert text.endswith(f"_and {100 - shown + 5} more_") and 0 < shown < 100
    assert len(payload["text"]) <= 3000 and payload["text"].endswith("&amp;…")


def test_a_slack_endpoint_is_posted_the_slack_payload_with_signature_headers(
    receiver: Receiver,
) -> None:
    with WebhookSender() as sender:
        send(sender, receiver.url("/services/T0/B0/x"), webhook_body(outgoing(), slack=True))
    (got,) = receiver.received
    assert got.verified and "blocks" in got.json
