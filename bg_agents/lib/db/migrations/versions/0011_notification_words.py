"""notification events: title and body as message ids and values, for each reader's language

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("notification_events", sa.Column("words", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_events") as batch:
        batch.drop_column("words")
