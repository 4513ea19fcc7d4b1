"""import reports: a file's physical row count and each staged row's outcome

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rows_total", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("staged_import_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staged_import_rows", schema=None) as batch_op:
        batch_op.drop_column("outcome")
    with op.batch_alter_table("import_files", schema=None) as batch_op:
        batch_op.drop_column("rows_total")
