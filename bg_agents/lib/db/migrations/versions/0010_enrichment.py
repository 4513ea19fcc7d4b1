"""enrichment: transaction categories, learned corrections, model cache, customer facts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bg_agents.lib.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = bg_agents.lib.db.types.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _fk(column: str, table: str, owner: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_{owner}_{column}_{table}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "transaction_enrichments",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("transaction_id", BIG_ID, nullable=False),
        sa.Column("team_id", BIG_ID, nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("merchant", sa.String(length=200), nullable=True),
        sa.Column("merchant_key", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.Column("enriched_at", INSTANT, nullable=False),
        _fk("transaction_id", "transactions", "transaction_enrichments"),
        _fk("team_id", "teams", "transaction_enrichments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_enrichments")),
        sa.UniqueConstraint(
            "transaction_id", name=op.f("uq_transaction_enrichments_transaction_id")
        ),
    )
    op.create_index(
        "ix_transaction_enrichments_team_id_booking_date",
        "transaction_enrichments",
        ["team_id", "booking_date"],
    )
    op.create_index(
        op.f("ix_transaction_enrichments_merchant_key"),
        "transaction_enrichments",
        ["merchant_key"],
    )
    op.create_table(
        "merchant_categories",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("team_id", BIG_ID, nullable=False),
        sa.Column("merchant_key", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", BIG_ID, nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", INSTANT, nullable=False),
        _fk("team_id", "teams", "merchant_categories"),
        _fk("transaction_id", "transactions", "merchant_categories", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_categories")),
        sa.UniqueConstraint(
            "team_id", "merchant_key", name=op.f("uq_merchant_categories_team_id_merchant_key")
        ),
    )
    op.create_table(
        "descriptor_categories",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("descriptor_key", sa.String(length=200), nullable=False),
        sa.Column("merchant", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_descriptor_categories")),
        sa.UniqueConstraint("descriptor_key", name=op.f("uq_descriptor_categories_descriptor_key")),
    )
    op.create_table(
        "customer_facts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", BIG_ID, nullable=False),
        sa.Column("team_id", BIG_ID, nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("fetched_at", INSTANT, nullable=False),
        _fk("customer_id", "customers", "customer_facts"),
        _fk("team_id", "teams", "customer_facts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_facts")),
        sa.UniqueConstraint(
            "customer_id", "field", name=op.f("uq_customer_facts_customer_id_field")
        ),
    )
    op.create_index(op.f("ix_customer_facts_team_id"), "customer_facts", ["team_id"])
    op.create_table(
        "customer_profiles",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", BIG_ID, nullable=False),
        sa.Column("team_id", BIG_ID, nullable=False),
        sa.Column("input_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("profiled_at", INSTANT, nullable=False),
        _fk("customer_id", "customers", "customer_profiles"),
        _fk("team_id", "teams", "customer_profiles"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_profiles")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_customer_profiles_customer_id")),
    )
    op.create_index(op.f("ix_customer_profiles_team_id"), "customer_profiles", ["team_id"])
    op.create_table(
        "provider_lookups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("lookup_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("fetched_at", INSTANT, nullable=False),
        sa.Column("expires_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_lookups")),
        sa.UniqueConstraint(
            "provider", "lookup_key", name=op.f("uq_provider_lookups_provider_lookup_key")
        ),
    )


def downgrade() -> None:
    for table in (
        "provider_lookups",
        "customer_profiles",
        "customer_facts",
        "descriptor_categories",
        "merchant_categories",
        "transaction_enrichments",
    ):
        op.drop_table(table)
