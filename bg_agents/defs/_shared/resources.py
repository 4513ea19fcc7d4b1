"""Resources: the application database and the LLM; the retry policy of outside-world steps."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy.engine import Engine

from bg_agents.lib.agents.backends import ChatBackend, build_backend
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.settings import (
    LLMSettings,
    database_url_configured,
    load_llm_settings,
    load_settings,
)


class AppDatabase(dg.ConfigurableResource):
    """The application database (SQLite by default, PostgreSQL via BG_AGENTS_DATABASE_URL)."""

    url: str
    _engine: Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._engine = get_engine(self.url)
        # Fail the run at once with the command to run, instead of a cryptic "no such table".
        migrate.ensure_current(self._engine)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine(self.url)
        return self._engine


def app_database() -> AppDatabase:
    """The URL may hold a password: when set, it reaches Dagster as an EnvVar, never as text."""
    if database_url_configured():
        return AppDatabase(url=dg.EnvVar("BG_AGENTS_DATABASE_URL"))
    return AppDatabase(url=load_settings().database_url)


# Steps that call the model declare ``pool=LLM_POOL``; dagster.yaml caps the pool's concurrency
# across all runs, so a 52-week backfill cannot exceed the provider's rate limit.
LLM_POOL = "openai"


class LLM(dg.ConfigurableResource):
    """The model behind every agent: OpenAI or a compatible server, or the offline backend."""

    backend: str = "offline"
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: str | None = None
    request_timeout: float = 30.0
    max_retries: int = 4

    def chat_backend(self) -> ChatBackend:
        settings = LLMSettings(
            backend=self.backend,
            model=self.model,
            base_url=self.base_url,
            api_key_var=None,
            request_timeout=self.request_timeout,
            max_retries=self.max_retries,
        )
        return build_backend(settings, self.api_key)


def llm() -> LLM:
    """From the environment; the key reaches Dagster as an EnvVar, never as text in the UI."""
    s = load_llm_settings()
    return LLM(
        backend=s.backend,
        model=s.model,
        base_url=s.base_url,
        api_key=dg.EnvVar(s.api_key_var) if s.api_key_var else None,
        request_timeout=s.request_timeout,
        max_retries=s.max_retries,
    )


# The one step retry policy for steps that call the outside world and decide a unit once (the
# model's insights and tie-breaks, the 09:00 reminders). The delivery passes (notifications, the
# customer e-mail op) have none: each delivery keeps its own backoff and the minute sensor starts
# the next pass. A model provider's 429 storm or an SMTP server restart is over in about a
# minute: 3 retries waiting about 10, 20 and 40 s (exponential; Dagster's PLUS_MINUS jitter so
# steps that failed together do not retry together) span roughly 70 s before the step gives up.
# Every such step is idempotent by its natural keys, so a retry repeats nothing already sent or
# stored. Run retries (dagster.yaml) skip step failures, so these attempts are not multiplied by
# run attempts; a dg.Failure(allow_retries=False) (a reminder unit requested before its 09:00)
# is never retried.
OUTSIDE_WORLD_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3,
    delay=10,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)
