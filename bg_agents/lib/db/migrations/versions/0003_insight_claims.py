"""insight claims: one row per (team, week) taken before the model is called

Two runs of the same insight unit (a retried sensor request, a manual run beside the sensor) each
INSERT a claim; the unique constraint lets exactly one win, so the model is paid once per unit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bg_agents.lib.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insight_claims",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_insight_claims_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_claims")),
        sa.UniqueConstraint(
            "team_id", "week_start", name=op.f("uq_insight_claims_team_id_week_start")
        ),
    )


def downgrade() -> None:
    op.drop_table("insight_claims")
