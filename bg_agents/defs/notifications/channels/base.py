"""What every channel is handed, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class DeliveryError(Exception):
    """A channel could not deliver. ``transient``: a later attempt may succeed (a timeout, a
    refused connection, HTTP 429/5xx, an SMTP 4xx reply); otherwise retrying cannot help (HTTP 4xx,
    an SMTP 5xx reply such as an unknown mailbox) and the delivery is dead at once."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.transient = transient


@dataclass(frozen=True)
class Outgoing:
    """One message for one recipient on one channel, ready to render.

    ``body`` is the plain text (for a digest: the summary line, the listed items, "and N more");
    ``items`` and ``more`` let a channel render its own list (HTML, Slack blocks). ``key`` is the
    delivery's idempotency key: receivers can use it to drop a repeat (webhook header, e-mail
    Message-ID), since at-least-once is what any network gives.
    """

    key: str
    team_slug: str
    team_name: str
    category: str
    title: str
    body: str
    locale: str
    created_at: datetime
    items: list[dict[str, Any]] = field(default_factory=list)  # {"title": ..., "body": ...}
    more: int = 0
    # A file the e-mail carries (a month-end report): {"path", "filename", "media_type",
    # "sha256", "size"}, read from storage when the e-mail is built. Only e-mail carries files:
    # the other channels send the text, which names the document.
    attachment: dict[str, Any] | None = None
