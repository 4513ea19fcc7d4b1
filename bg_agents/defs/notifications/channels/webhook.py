"""Webhooks: each message POSTed as JSON to a team's endpoint, signed with the endpoint's secret.

**For a receiver's author.** Every POST carries three headers:

- ``X-BG-Timestamp``: when it was sent, in Unix seconds;
- ``X-BG-Signature``: ``v1=`` + hex HMAC-SHA256(secret, ``f"{timestamp}."`` + raw body);
- ``X-BG-Delivery``: the delivery's idempotency key (also the payload's ``id``). Deliveries are
  at-least-once (a lost answer means a repeat): drop a key you have already seen.

Verify before trusting the body, on the raw bytes as received (not re-serialised JSON)::

    from bg_agents.defs.notifications.channels.webhook import verify_signature

    if not verify_signature(secret, request.headers, raw_body, now=time.time()):
        return 401

A signature older or newer than five minutes is refused even when it matches, so a captured
request cannot be replayed later. ``X-BG-Signature`` may hold several comma-separated ``v1=``
values; any one matching is enough. The payload::

    {"id": "...", "team": "acme", "category": "invoice_paid", "title": "...", "text": "...",
     "items": [{"title": "...", "body": "..."}], "more": 0, "created_at": "2026-03-02T09:00:00Z"}

Answer 2xx quickly. 429 and 5xx (and timeouts) are retried later, honouring ``Retry-After``;
any other status, redirects included, is final: the delivery is given up at once.

A Slack endpoint gets an incoming-webhook payload (``text`` plus Block Kit ``blocks``) instead;
the signature headers are sent too (Slack ignores them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import httpx

from bg_agents.defs.notifications.channels.base import DeliveryError, Outgoing
from bg_agents.defs.notifications.channels.public_transport import (
    NotPublicError,
    PublicTransport,
    Resolve,
)
from bg_agents.lib.agents.messages import redact

TIMESTAMP_HEADER = "X-BG-Timestamp"
SIGNATURE_HEADER = "X-BG-Signature"
DELIVERY_HEADER = "X-BG-Delivery"
TOLERANCE = 300  # seconds a signature stays acceptable: the replay window
# Seconds per phase. An endpoint that never answers costs at most READ (plus CONNECT), and the
# whole answer is bounded by ANSWER, so a receiver trickling bytes cannot hold a worker longer.
CONNECT, READ, WRITE, POOL, ANSWER = 3.0, 5.0, 5.0, 5.0, 10.0
MAX_CONNECTIONS = 32
LATE = "the answer did not end in time"
SHOWN = 200  # characters of a receiver's answer kept in an error: enough to diagnose, no dump
DRAIN = 64 * 1024  # a 2xx body is read up to this to reuse the connection, then dropped
MAX_RETRY_AFTER = 86_400.0  # a receiver cannot park a delivery for longer than a day
# Slack Block Kit limits (characters): header text, section text, context text.
SLACK_HEADER, SLACK_SECTION, SLACK_CONTEXT = 150, 3000, 2000


class WebhookError(DeliveryError):
    """A failed POST. ``status`` is the HTTP status (None: no answer); ``retry_after`` the
    seconds the receiver asked to wait (429/503 ``Retry-After``), which the engine's backoff
    should not undercut."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason, transient=transient)
        self.status = status
        self.retry_after = retry_after


class WebhookJob(NamedTuple):
    """One POST for :meth:`WebhookSender.send_many`: the arguments of ``send``."""

    url: str
    secret: str
    body: bytes
    key: str
    now: datetime


# -- payloads ---------------------------------------------------------------------------------


def _iso_utc(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored instants are UTC
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def webhook_body(outgoing: Outgoing, *, slack: bool) -> bytes:
    """The POST body: the documented JSON payload, or Slack's incoming-webhook shape."""
    payload = _slack_payload(outgoing) if slack else _payload(outgoing)
    # Compact UTF-8; default=str so a date inside an item's fields cannot fail a delivery.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def _payload(o: Outgoing) -> dict[str, Any]:
    return {
        "id": o.key,
        "team": o.team_slug,
        "category": o.category,
        "title": o.title,
        "text": o.body,
        "items": list(o.items),
        "more": o.more,
        "created_at": _iso_utc(o.created_at),
    }


def slack_escape(text: str) -> str:
    """Slack's three control characters as entities, so a payee named ``<!channel>`` pings no
    one and ``a < b`` is shown as written (Slack's formatting rules; nothing else is escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(escaped: str, limit: int) -> str:
    """``escaped`` within ``limit`` characters, never cutting an entity such as ``&amp;`` apart."""
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 4))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _slack_payload(o: Outgoing) -> dict[str, Any]:
    if o.items:
        lines = [
            f"• *{slack_escape(str(item.get('title', '')))}*"
            + (f" – {slack_escape(str(item['body']))}" if item.get("body") else "")
            for item in o.items
        ]
        more = o.more
        listed: list[str] = []
        for i, line in enumerate(lines):  # whole lines only; those cut off count as "more"
            if len("\n".join([*listed, line])) > SLACK_SECTION - 40:
                more += len(lines) - i
                break
            listed.append(line)
        if more:
            listed.append(f"_and {more} more_")
        section = "\n".join(listed)
    else:
        section = _clip(slack_escape(o.body), SLACK_SECTION)
    header = o.title if len(o.title) <= SLACK_HEADER else o.title[: SLACK_HEADER - 1] + "…"
    context = _clip(
        slack_escape(f"{o.team_name} · {o.category} · {_iso_utc(o.created_at)}"), SLACK_CONTEXT
    )
    return {
        # The notification and fallback text; mrkdwn, so escaped like the rest.
        "text": _clip(slack_escape(f"{o.title}: {o.body}"), SLACK_SECTION),
        "blocks": [
            # plain_text is shown literally (no links or mentions), so it is not escaped.
            {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": section or " "}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


# -- signatures -------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256(secret, ``"{timestamp}."`` + body)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, key: str, now: datetime) -> dict[str, str]:
    """The three headers a POST of ``body`` carries, signed at ``now``."""
    timestamp = int(now.timestamp())
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        DELIVERY_HEADER: key,
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from any mapping (a dict, a server's headers)."""
    wanted = name.lower()
    for k, v in headers.items():
        if k.lower() == wanted:
            return v
    return None


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime | float,
    tolerance: float = TOLERANCE,
) -> bool:
    """Whether ``body`` was signed with ``secret`` within ``tolerance`` seconds of ``now``.

    Refuses a missing or malformed header, a timestamp outside the window either way (a replay,
    or a clock far off), and any body other than the bytes signed. Compares in constant time.
    """
    stamp, signatures = _header(headers, TIMESTAMP_HEADER), _header(headers, SIGNATURE_HEADER)
    if not stamp or not signatures or not stamp.strip().isdigit():
        return False
    timestamp = int(stamp.strip())
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).encode()
    # Every candidate is compared (no early exit), so timing says nothing about which matched.
    matched = False
    for candidate in signatures.split(","):
        matched |= hmac.compare_digest(expected, candidate.strip().encode())
    return matched


# -- sending ----------------------------------------------------------------------------------


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), within 0 and a day."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" parses naive; RFC 5322 means UTC
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _shown(text: str) -> str:
    """A receiver's answer or an error, cut to what a delivery row may keep, secrets removed."""
    one_line = " ".join(text.split())
    return redact(one_line[:SHOWN])


class WebhookSender:
    """POSTs over one pooled ``httpx.Client`` (keep-alive per host), shared by worker threads.

    Redirects are not followed: a signed body re-sent wherever a 3xx points would be a way to
    leak it, and an endpoint that moved should be updated by its team. With ``public_only``
    (teams' endpoints) a host that resolves to a private, link-local or reserved address is
    refused when the connection is made (public_transport.py); ``resolve`` replaces
    ``socket.getaddrinfo`` there (tests).
    """

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | None = None,
        answer_timeout: float = ANSWER,
        max_connections: int = MAX_CONNECTIONS,
        public_only: bool = True,
        resolve: Resolve = socket.getaddrinfo,
    ) -> None:
        self.answer_timeout = answer_timeout
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = httpx.Client(
            timeout=timeout or httpx.Timeout(connect=CONNECT, read=READ, write=WRITE, pool=POOL),
            limits=limits,
            follow_redirects=False,
            headers={"User-Agent": "bg-agents-webhooks/1", "Content-Type": "application/json"},
            transport=PublicTransport(limits, resolve) if public_only else None,
        )

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send(self, url: str, secret: str, body: bytes, key: str, now: datetime) -> None:
        """POST ``body`` signed at ``now``; return on 2xx, else raise :class:`WebhookError`.

        Error reasons never quote the URL (a Slack webhook's URL is itself a secret) and keep
        at most 200 characters of the receiver's answer.
        """
        headers = signed_headers(secret, body, key, now)
        started = time.monotonic()
        try:
            with self._client.stream("POST", url, content=body, headers=headers) as response:
                code = response.status_code
                answer = self._read(response, started, limit=DRAIN if code < 300 else SHOWN)
                waited = retry_after(response.headers.get("retry-after"), now)
        except httpx.TimeoutException as exc:
            raise WebhookError(self._timed_out(exc), transient=True) from None
        except NotPublicError as exc:  # a team's setting to change, not a network to wait for
            raise WebhookError(f"not sent: {exc}", transient=False) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            raise WebhookError(f"cannot send: {_shown(str(exc))}", transient=False) from None
        except httpx.TransportError as exc:
            reason = _shown(str(exc)) or type(exc).__name__
            raise WebhookError(f"connection failed: {reason}", transient=True) from None
        if 200 <= code < 300:
            return
        shown = _shown(answer.decode("utf-8", "replace"))
        reason = f"HTTP {code}" + (f": {shown}" if shown else "")
        if code == 429 or code == 408 or code >= 500:
            raise WebhookError(reason, transient=True, status=code, retry_after=waited)
        if 300 <= code < 400:
            reason += " (a redirect: not followed; update the endpoint's URL)"
        raise WebhookError(reason, transient=False, status=code)

    def _timed_out(self, exc: httpx.TimeoutException) -> str:
        t = self._client.timeout
        if isinstance(exc, httpx.ConnectTimeout):
            return f"timed out: no connection within {t.connect:g} s"
        if isinstance(exc, httpx.WriteTimeout):
            return f"timed out: the body was not taken within {t.write:g} s"
        if isinstance(exc, httpx.PoolTimeout):
            return f"timed out: no free connection within {t.pool:g} s"
        if str(exc) == LATE:
            return f"timed out: the answer did not end within {self.answer_timeout:g} s"
        return f"timed out: no answer within {t.read:g} s"

    def _read(self, response: httpx.Response, started: float, *, limit: int) -> bytes:
        """Up to ``limit`` bytes of the answer, within the whole-answer deadline."""
        kept = bytearray()
        for chunk in response.iter_raw():
            if time.monotonic() - started > self.answer_timeout:
                raise httpx.ReadTimeout(LATE, request=response.request)
            kept += chunk[: limit - len(kept)]
            if len(kept) >= limit:
                break  # the rest is dropped with the connection
        return bytes(kept)

    def send_many(
        self, jobs: Sequence[WebhookJob], max_workers: int = 8
    ) -> list[WebhookError | None]:
        """Send ``jobs`` concurrently; one result per job, in order: None (delivered) or its error.

        A receiver that never answers holds one worker for its timeout while the others keep
        sending, so it delays the rest by at most that timeout, and only when every worker is
        stuck at once.
        """
        if not jobs:
            return []

        def one(job: WebhookJob) -> WebhookError | None:
            try:
                self.send(job.url, job.secret, job.body, job.key, job.now)
            except WebhookError as exc:
                return exc
            return None

        with ThreadPoolExecutor(
            max_workers=max(1, min(max_workers, len(jobs))), thread_name_prefix="webhook"
        ) as pool:
            return list(pool.map(one, jobs))
