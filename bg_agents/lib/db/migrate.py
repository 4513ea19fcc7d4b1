"""Schema migrations (Alembic), driven from code so ``bg-agents db upgrade`` needs no ini file."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every process that migrates.
_PG_LOCK_ID = 0x6267_6167  # "bgag"
# Not Alembic's default "alembic_version": Dagster's own storage uses that name, and the two may
# share a database.
VERSION_TABLE = "bg_agents_schema_version"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run from several processes at once."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialize concurrent upgrades (e.g. two workers starting) on a transaction lock.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the models (developers only)."""
    with engine.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)


class SchemaOutOfDate(RuntimeError):
    pass


def ensure_current(engine: Engine) -> None:
    """Raise a clear error if the database is not at the latest migration."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the application database at {engine.url.render_as_string(hide_password=True)} is at "
            f"revision {current or 'none (empty)'}, the code needs {head}: "
            "run `bg-agents db upgrade`"
        )
