"""A transaction's effective category: what metrics, insights and reports count it under.

The bank's own category stays as sent on the transaction; enrichment keeps its answer beside it
(``transaction_enrichments``). A person's correction, or what the team learned from one, wins
over the bank; otherwise the bank's category, then the agent's (rules or model), then
``uncategorized``. One expression in one place, so weekly metrics and month-end reports cannot
count the same line under two names. Shared code: domains may not import each other's internals.
"""

from __future__ import annotations

import sqlalchemy as sa

from bg_agents.lib.db.models import Transaction, TransactionEnrichment

UNCATEGORIZED = "uncategorized"
# Sources decided by people (enrichment/taxonomy.py's SOURCES): they override the bank.
PEOPLE = ("person", "learned")


def effective_category() -> sa.ColumnElement[str]:
    """The category expression; the query must outer-join enrichments (:func:`with_enrichment`)."""
    e = TransactionEnrichment
    chosen = sa.case(
        (e.source.in_(PEOPLE), e.category),
        else_=sa.func.coalesce(Transaction.category, e.category),
    )
    return sa.func.coalesce(chosen, UNCATEGORIZED)


def with_enrichment(select: sa.Select) -> sa.Select:
    """``select`` (over ``transactions``) with each row's enrichment, if any, joined (1:1)."""
    return select.join_from(
        Transaction,
        TransactionEnrichment,
        TransactionEnrichment.transaction_id == Transaction.id,
        isouter=True,
    )
