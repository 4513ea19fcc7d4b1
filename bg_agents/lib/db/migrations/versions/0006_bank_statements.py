"""bank statements: value date and counterparty IBAN on transactions, a file's details

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("counterparty_iban", sa.String(length=34), nullable=True))
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "details",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=False,
                server_default="{}",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.drop_column("details")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("counterparty_iban")
        batch_op.drop_column("value_date")
