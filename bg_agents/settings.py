"""Configuration from the environment, in one place.

Every knob is an environment variable with an embedded default, so the project runs on a laptop
with nothing set and in production with only variables changed (ARCHITECTURE.md, principle 4).
Secrets (database passwords, API keys) are read here only to decide *which* backend to use; Dagster
resources receive them through ``EnvVar`` so they never show in the UI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_HISTORY_START = "2025-01-01"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    history_start: date

    @property
    def import_dir(self) -> Path:
        """Drop CSV/OFX files in ``<import_dir>/<team-slug>/``; the import sensor picks them up."""
        return self.home / "imports"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings; ``env`` defaults to ``os.environ`` (tests pass their own)."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("BG_AGENTS_HOME") or Path.cwd() / ".bg_agents").expanduser().resolve()
    url = env.get("BG_AGENTS_DATABASE_URL") or f"sqlite:///{home / 'app.db'}"
    try:
        start = date.fromisoformat(env.get("BG_AGENTS_HISTORY_START") or DEFAULT_HISTORY_START)
    except ValueError as exc:
        raise ValueError(
            f"BG_AGENTS_HISTORY_START must be an ISO date (YYYY-MM-DD): {exc}"
        ) from None
    return Settings(home=home, database_url=url, history_start=start)


API_KEY_VARS = ("BG_AGENTS_LLM_API_KEY", "OPENAI_API_KEY")


@dataclass(frozen=True)
class LLMSettings:
    """Which model to call. The key itself is read only where the client is built."""

    backend: str  # openai | offline
    model: str
    base_url: str | None
    api_key_var: str | None  # the environment variable that holds the key, if any
    request_timeout: float
    max_retries: int


def load_llm_settings(env: dict[str, str] | None = None) -> LLMSettings:
    """``openai`` when a key or a base URL is configured, else the offline backend.

    ``BG_AGENTS_LLM_BACKEND=offline|openai`` overrides the choice (e.g. offline in a test run
    that has a key in its environment, or openai for a local server that needs no key).
    """
    env = dict(os.environ if env is None else env)
    key_var = next((v for v in API_KEY_VARS if env.get(v)), None)
    base_url = env.get("BG_AGENTS_LLM_BASE_URL") or env.get("OPENAI_BASE_URL") or None
    backend = (env.get("BG_AGENTS_LLM_BACKEND") or "").strip().lower()
    if not backend:
        backend = "openai" if key_var or base_url else "offline"
    if backend not in ("openai", "offline"):
        raise ValueError(f"BG_AGENTS_LLM_BACKEND must be 'openai' or 'offline', not {backend!r}")
    try:
        timeout = float(env.get("BG_AGENTS_LLM_TIMEOUT") or 30)
        retries = int(env.get("BG_AGENTS_LLM_MAX_RETRIES") or 4)
    except ValueError as exc:
        raise ValueError(f"BG_AGENTS_LLM_TIMEOUT / BG_AGENTS_LLM_MAX_RETRIES: {exc}") from None
    return LLMSettings(
        backend=backend,
        model=env.get("BG_AGENTS_LLM_MODEL") or "gpt-4o-mini",
        base_url=base_url,
        api_key_var=key_var,
        request_timeout=timeout,
        max_retries=retries,
    )
