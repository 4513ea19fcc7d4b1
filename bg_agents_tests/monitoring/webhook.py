"""The operators' webhook pointed at a real receiver, for the alert tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest
import sqlalchemy as sa

from bg_agents.defs.monitoring.operators import ensure_operators
from bg_agents.lib.db.models import WebhookEndpoint
from bg_agents.lib.settings import load_operator_settings
from bg_agents_tests.notifications.test_webhook_channel import Receiver


@contextmanager
def operators_webhook(engine, monkeypatch: pytest.MonkeyPatch, now: datetime) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    """A receiver at ``/ops`` as the operators' webhook, the clock pinned at ``now`` (the
    receiver checks signatures against the real clock, so ``now`` should be the real time)."""
    with Receiver() as receiver:
        monkeypatch.setenv("BG_AGENTS_OPERATOR_WEBHOOK_URL", receiver.url("/ops"))
        monkeypatch.setenv("BG_AGENTS_NOW", now.isoformat())
        with engine.begin() as conn:  # the receiver verifies with its secret: use the same one
            team = ensure_operators(conn, load_operator_settings())
            conn.execute(
                sa.update(WebhookEndpoint)
                .where(WebhookEndpoint.team_id == team)
                .values(secret=receiver.secret)
            )
        yield receiver
