"""agent runtime usage nullable

Token counts and cost become nullable (NULL: the server did not report the count, or the model has
no known price), and ``reported_model`` keeps the model name the server answered with (NULL when it
named none or its answer could not be read).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bg_agents.lib.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.alter_column("prompt_tokens", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("completion_tokens", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("cost_usd", existing_type=bg_agents.lib.db.types.Money(), nullable=True)
        batch.add_column(sa.Column("reported_model", sa.String(length=100), nullable=True))


def downgrade() -> None:
    # The old schema cannot say "unknown": it becomes 0, as the old code recorded it.
    llm_calls = sa.table(
        "llm_calls",
        sa.column("prompt_tokens", sa.Integer()),
        sa.column("completion_tokens", sa.Integer()),
        sa.column("cost_usd", bg_agents.lib.db.types.Money()),
    )
    for name in ("prompt_tokens", "completion_tokens", "cost_usd"):
        column = llm_calls.c[name]
        op.execute(llm_calls.update().where(column.is_(None)).values({name: 0}))
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("reported_model")
        batch.alter_column("cost_usd", existing_type=bg_agents.lib.db.types.Money(), nullable=False)
        batch.alter_column("completion_tokens", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("prompt_tokens", existing_type=sa.Integer(), nullable=False)
