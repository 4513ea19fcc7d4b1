"""Asset checks of the enrichment domain.

``transaction_enrichment``: every stored category is in the taxonomy and every source is one the
agent knows, over the days a run enriched. Declared on the asset (``TRANSACTION_CHECKS``) and
evaluated in its step, so a bad value blocks weekly metrics before they count it.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs._shared.metadata import check_result, markdown_table
from bg_agents.defs.enrichment.customers import check_company_facts
from bg_agents.defs.enrichment.taxonomy import CATEGORIES, SOURCES
from bg_agents.lib.checks import CheckOutcome
from bg_agents.lib.db.models import Transaction, TransactionEnrichment

SAMPLES = 10  # offending values shown in a failed check's metadata

TRANSACTION_CHECKS = [
    dg.AssetCheckSpec(
        "categories_in_taxonomy",
        asset="transaction_enrichment",
        blocking=True,
        description="Every stored category of the run's days is one of the fixed taxonomy's.",
    ),
    dg.AssetCheckSpec(
        "sources_known",
        asset="transaction_enrichment",
        blocking=True,
        description="Every row says who decided it: person, learned, rule, model or none.",
    ),
]


def _outliers(engine: Engine, first: date, last: date, column: str, allowed) -> CheckOutcome:  # type: ignore[no-untyped-def]
    e = TransactionEnrichment
    value = e.__table__.c[column]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(value, sa.func.count())
            .join(Transaction, Transaction.id == e.transaction_id)
            .where(
                Transaction.booking_date.between(first, last),
                value.is_not(None),
                value.not_in(list(allowed)),
            )
            .group_by(value)
            .order_by(sa.func.count().desc(), value)
        ).all()
    bad = sum(n for _, n in rows)
    days = f"{first}..{last}" if first != last else str(first)
    if not bad:
        return CheckOutcome(True, f"every {column} of {days} is known", {"unknown": 0})
    return CheckOutcome(
        False,
        f"{bad} rows of {days} have an unknown {column}",
        {"unknown": bad, "values": markdown_table(rows[:SAMPLES], (column, "rows"))},
    )


def transaction_check_results(engine: Engine, first: date, last: date) -> list[dg.AssetCheckResult]:
    """Both checks over the transactions booked in [first, last]."""
    return [
        check_result(
            "categories_in_taxonomy", _outliers(engine, first, last, "category", CATEGORIES)
        ),
        check_result("sources_known", _outliers(engine, first, last, "source", SOURCES)),
    ]


# -- customer_profiles (customer enrichment) ---------------------------------------------------

CUSTOMER_CHECKS = [
    dg.AssetCheckSpec(
        "customer_facts_company_only",
        asset="customer_profiles",
        description=(
            "Every stored customer fact is a company field (name, domain, industry, size band, "
            "country, logo) whose value passes the provider's validation, from a known source: "
            "no personal data (e-mail addresses, phone numbers, links), https logos, ISO "
            "countries, size bands from the fixed list."
        ),
    ),
]


def customer_check_results(engine: Engine) -> list[dg.AssetCheckResult]:
    """The check over every stored fact (offending values are never shown, only their ids)."""
    return [check_result("customer_facts_company_only", check_company_facts(engine))]
