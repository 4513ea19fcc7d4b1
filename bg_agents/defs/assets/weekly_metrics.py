"""``weekly_metrics``: per-team totals for each ISO week, computed for all teams at once."""

import dagster as dg

from bg_agents.db.types import from_units
from bg_agents.defs.metadata import markdown_table
from bg_agents.defs.partitions import key_to_date, weekly_partitions
from bg_agents.defs.resources import AppDatabase
from bg_agents.services import quality
from bg_agents.services.metrics import build_weekly_metrics


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{value:+.1f} %"


@dg.asset(
    partitions_def=weekly_partitions,
    deps=["transactions"],
    check_specs=[
        dg.AssetCheckSpec(
            "totals_match_transactions",
            asset="weekly_metrics",
            blocking=True,
            description="Stored revenue and expenses equal a direct SUM over the week's rows.",
        )
    ],
    group_name="metrics",
    kinds={"sql", "pandas"},
    owners=["team:data"],
    description=(
        "One row per team and ISO week (Monday to Sunday, keyed by the Monday) in the team's base "
        "currency: revenue, expenses, net, counts, change vs the week before; expenses per "
        "category in `weekly_category_metrics`."
    ),
)
def weekly_metrics(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    week = key_to_date(context.partition_key)
    result = build_weekly_metrics(app_db.engine, week)
    teams = result.teams
    active = teams[teams["transaction_count"] > 0]
    top = active.sort_values("expenses", ascending=False).head(10)
    with app_db.engine.connect() as conn:
        check = quality.weekly_totals_match(conn, week)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(teams)),
            "teams_with_activity": dg.MetadataValue.int(len(active)),
            "transactions": dg.MetadataValue.int(int(teams["transaction_count"].sum())),
            "category_rows": dg.MetadataValue.int(len(result.categories)),
            "top_spenders": markdown_table(
                (
                    (
                        r.team_id,
                        r.currency,
                        from_units(r.revenue),
                        from_units(r.expenses),
                        _pct(r.expenses_change_pct),
                    )
                    for r in top.itertuples()
                ),
                ("team", "currency", "revenue", "expenses", "expenses vs last week"),
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="totals_match_transactions",
                passed=check.passed,
                description=check.description,
                metadata=check.metadata,
            )
        ],
    )
