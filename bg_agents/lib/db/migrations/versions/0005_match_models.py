"""match models: the learned matcher's trained parameters, keyed by their digest

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bg_agents.lib.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_models",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("trained_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_models")),
        sa.UniqueConstraint("digest", name=op.f("uq_match_models_digest")),
    )
    op.create_index(
        op.f("ix_match_models_trained_at"), "match_models", ["trained_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_match_models_trained_at"), table_name="match_models")
    op.drop_table("match_models")
