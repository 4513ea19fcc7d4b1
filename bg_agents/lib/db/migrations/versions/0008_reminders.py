"""reminders: team and customer reminders, recurring invoices, withdrawn notification events

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bg_agents.lib.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_settings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_reminders", sa.Boolean(), nullable=False),
        sa.Column(
            "customer_steps",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("payment_details", sa.Text(), nullable=True),
        sa.Column("updated_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_reminder_settings_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_settings")),
        sa.UniqueConstraint("team_id", name=op.f("uq_reminder_settings_team_id")),
    )
    op.create_table(
        "reminders",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("due_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_due", bg_agents.lib.db.types.Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_reminders_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_reminders_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("key", name=op.f("uq_reminders_key")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(
            "ix_reminders_team_id_local_date", ["team_id", "local_date"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("reminders_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recurrence_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("recurrence_count", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "template_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoices_template_id"), ["template_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_invoices_template_id_period_start"), ["template_id", "period_start"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invoices_template_id_invoices"),
            "invoices",
            ["template_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "withdrawn_at", bg_agents.lib.db.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("withdrawn_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notification_events", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_at")

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_invoices_template_id_invoices"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_invoices_template_id_period_start"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_invoices_template_id"))
        batch_op.drop_column("period_start")
        batch_op.drop_column("template_id")
        batch_op.drop_column("recurrence_count")
        batch_op.drop_column("recurrence_end")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("reminders_opt_in")
        batch_op.drop_column("locale")

    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_team_id_local_date")
        batch_op.drop_index(batch_op.f("ix_reminders_invoice_id"))
        batch_op.drop_index("ix_reminders_due")

    op.drop_table("reminders")
    op.drop_table("reminder_settings")
