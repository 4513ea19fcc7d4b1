"""Alembic environment: runs on the connection that :mod:`bg_agents.lib.db.migrate` passes in."""

from alembic import context

from bg_agents.lib.db.migrate import VERSION_TABLE
from bg_agents.lib.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    version_table=VERSION_TABLE,
)
with context.begin_transaction():
    context.run_migrations()
