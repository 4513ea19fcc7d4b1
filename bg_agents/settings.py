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
