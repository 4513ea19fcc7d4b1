"""Migrations run from empty on SQLite and PostgreSQL, match the models, and can be undone."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bg_agents.lib.db import migrate
from bg_agents.lib.db.models import Base


def test_upgrade_from_empty_creates_every_table_and_matches_the_models(engine) -> None:  # type: ignore[no-untyped-def]
    assert migrate.current_revision(engine) == migrate.head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert migrate.VERSION_TABLE in tables and "alembic_version" not in tables
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": migrate.VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], "models changed without a migration: run migrate.revision()"


def test_downgrade_to_empty_and_upgrade_again(engine) -> None:  # type: ignore[no-untyped-def]
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert set(sa.inspect(engine).get_table_names()) <= {migrate.VERSION_TABLE}
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # a second upgrade is a no-op
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_an_unmigrated_database_is_refused_with_the_command_to_run(sqlite_url) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db.engine import get_engine

    with pytest.raises(migrate.SchemaOutOfDate, match="bg-agents db upgrade"):
        migrate.ensure_current(get_engine(sqlite_url))
