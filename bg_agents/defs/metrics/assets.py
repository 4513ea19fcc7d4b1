"""``weekly_metrics``: per-team totals for each ISO week, computed for all teams at once."""

from decimal import Decimal

import dagster as dg
from babel.numbers import format_currency

from bg_agents.defs._shared.metadata import (
    check_result,
    markdown_table,
    table_schema,
    with_code_reference,
)
from bg_agents.defs._shared.partitions import EXISTING_DAYS, key_to_date, weekly_partitions
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs._shared.sensing import refresh_when_deps_change
from bg_agents.defs.metrics import quality
from bg_agents.defs.metrics.service import build_weekly_metrics, top_spenders
from bg_agents.lib.db.models import WeeklyMetric


def _money(value: Decimal, currency: str) -> str:
    """``IRR 3,847,456,000`` or ``EUR 40,123.50``: grouped, in the currency's minor units."""
    return format_currency(value, currency, format="¤¤ #,##0.00", locale="en_US")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f} %"


@with_code_reference
@dg.asset(
    metadata=table_schema(WeeklyMetric),
    partitions_def=weekly_partitions,
    deps=[
        dg.AssetDep(day, partition_mapping=EXISTING_DAYS)
        for day in ("transactions", "transaction_enrichment")
    ],  # fmt: skip
    automation_condition=refresh_when_deps_change,
    check_specs=[
        dg.AssetCheckSpec(
            "totals_match_transactions",
            asset="weekly_metrics",
            blocking=True,
            description="Stored revenue and expenses equal a direct SUM over the week's rows.",
        ),
        dg.AssetCheckSpec(
            "every_team_measured",
            asset="weekly_metrics",
            blocking=False,
            description=(
                "Warns when a team's totals are too large to store (900 trillion or more): that "
                "team gets no row and its insight waits; every other team's week goes ahead."
            ),
        ),
    ],
    group_name="metrics",
    kinds={"sql"},
    owners=["team:data"],
    description=(
        "One row per team and ISO week (Monday to Sunday, keyed by the Monday) in the team's base "
        "currency: revenue, expenses, net, counts, change vs the week before; expenses per "
        "category in `weekly_category_metrics`. Computed set-based in the database for all teams."
    ),
)
def weekly_metrics(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    week = key_to_date(context.partition_key)
    result = build_weekly_metrics(app_db.engine, week)
    with app_db.engine.connect() as conn:
        check = quality.weekly_totals_match(conn, week)
        top = top_spenders(conn, week)
    left_out = quality.teams_left_out(result.overflowed_teams)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(result.teams),
            "teams_with_activity": dg.MetadataValue.int(result.teams_with_activity),
            "transactions": dg.MetadataValue.int(result.transactions),
            "category_rows": dg.MetadataValue.int(result.category_rows),
            "teams_left_out": dg.MetadataValue.text(", ".join(result.overflowed_teams) or "none"),
            # Ranked within each currency: amounts in different currencies do not compare.
            "top_spenders": markdown_table(
                (
                    (
                        r.currency,
                        r.rank,
                        r.slug,
                        _money(r.expenses, r.currency),
                        _money(r.revenue, r.currency),
                        _pct(r.expenses_change_pct),
                    )
                    for r in top
                ),
                ("currency", "rank", "team", "expenses", "revenue", "expenses vs last week"),
            ),  # fmt: skip
        },
        check_results=[
            check_result("totals_match_transactions", check),
            dg.AssetCheckResult(
                check_name="every_team_measured",
                passed=left_out.passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=left_out.description,
                metadata=left_out.metadata,
            ),
        ],
    )
