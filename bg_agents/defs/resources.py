"""Resources: the application database."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy.engine import Engine

from bg_agents.db import migrate
from bg_agents.db.engine import get_engine
from bg_agents.settings import load_settings


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
    if os.environ.get("BG_AGENTS_DATABASE_URL"):
        return AppDatabase(url=dg.EnvVar("BG_AGENTS_DATABASE_URL"))
    return AppDatabase(url=load_settings().database_url)
