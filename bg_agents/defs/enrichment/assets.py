"""Assets of the enrichment domain: ``transaction_enrichment`` (bank lines named and
categorized, a day at a time)."""

from datetime import timedelta

import dagster as dg

from bg_agents.defs._shared.metadata import counts_table, table_schema, with_code_reference
from bg_agents.defs._shared.partitions import daily_partitions, key_to_date
from bg_agents.defs._shared.resources import LLM, LLM_POOL, OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs.enrichment.checks import TRANSACTION_CHECKS, transaction_check_results
from bg_agents.defs.enrichment.service import enrich_days
from bg_agents.lib.db.models import TransactionEnrichment

AC = dg.AutomationCondition

# Every day follows its transactions: a day is enriched when it appears and again whenever the
# hourly ingest (or a late bank file) re-materializes it, never while it is missing or running.
# The same shape as weekly_metrics' condition (metrics/sensors.py), which domains cannot import.
follow_transactions = (
    (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
    & ~AC.any_deps_missing()
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
).with_label("refresh when deps change")


@with_code_reference
@dg.asset(
    metadata=table_schema(TransactionEnrichment),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["transactions"],
    pool=LLM_POOL,
    retry_policy=OUTSIDE_WORLD_RETRY_POLICY,
    automation_condition=follow_transactions,
    check_specs=TRANSACTION_CHECKS,
    group_name="enrichment",
    kinds={"python", "sql", "openai"},
    owners=["team:data"],
    description=(
        "A merchant name and a category from the fixed taxonomy for every transaction booked "
        "that day, all teams at once, with who decided: a person's correction (never "
        "overwritten), the team's learned correction for the merchant, the rules, the model "
        "(normalized descriptors only, many per call, cached across teams, refused below its "
        "confidence gate or outside the taxonomy; offline: rules only), else none. Weekly "
        "metrics and reports count a transaction under this category where the bank gave none. "
        "Re-running changes nothing. Each day's metadata counts its rows by source; figures "
        "for the whole run are under run/."
    ),
)
def transaction_enrichment(
    context: dg.AssetExecutionContext, app_db: AppDatabase, llm: LLM
) -> dg.MaterializeResult:
    days = [key_to_date(k) for k in context.partition_keys]
    first, last = min(days), max(days)
    report = enrich_days(
        app_db.engine,
        first,
        last,
        llm.chat_backend(),
        run_id=context.run.run_id,
        partition_key=context.partition_key if len(days) == 1 else None,
    )
    context.log.info(
        f"{report.transactions} transactions ({(last - first + timedelta(1)).days} days): "
        f"{report.written} written, {report.unchanged} unchanged, {report.kept} kept as people "
        f"set them; model: {report.model_calls} calls, {report.cache_hits} cached answers"
    )
    if report.model_unavailable:
        context.log.warning(f"the model stopped being asked: {report.model_unavailable}")
    for day, by_source in report.days.items():
        rows = sum(by_source.values())
        categorized = rows - by_source["none"]
        context.add_asset_metadata(
            {
                "dagster/row_count": dg.MetadataValue.int(rows),
                # One number per source so the UI can plot coverage across partitions.
                **{source: dg.MetadataValue.int(n) for source, n in by_source.items()},
                "by_source": counts_table(by_source, ("source", "transactions")),
                "categorized_share": dg.MetadataValue.float(
                    round(categorized / rows, 4) if rows else 0.0
                ),
            },
            partition_key=day.isoformat(),
        )
    hit_rate = report.cache_hit_rate
    return dg.MaterializeResult(
        metadata={
            "changed": dg.MetadataValue.bool(report.changed),
            "run/days": dg.MetadataValue.int(len(days)),
            "run/written": dg.MetadataValue.int(report.written),
            "run/unchanged": dg.MetadataValue.int(report.unchanged),
            "run/kept_person": dg.MetadataValue.int(report.kept),
            "run/model_calls": dg.MetadataValue.int(report.model_calls),
            "run/cache_hits": dg.MetadataValue.int(report.cache_hits),
            "run/model_asked": dg.MetadataValue.int(report.asked),
            "run/model_refused": dg.MetadataValue.int(report.refused),
            # Undefined (and left out) when no descriptor needed the model.
            **(
                {"run/cache_hit_rate": dg.MetadataValue.float(round(hit_rate, 4))}
                if hit_rate is not None
                else {}
            ),
        },
        check_results=transaction_check_results(app_db.engine, first, last),
    )
