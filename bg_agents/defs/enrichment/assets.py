"""Assets of the enrichment domain: ``transaction_enrichment`` (bank lines named and
categorized, a day at a time)."""

from datetime import timedelta

import dagster as dg

from bg_agents.defs._shared.metadata import counts_table, table_schema, with_code_reference
from bg_agents.defs._shared.partitions import daily_partitions, key_to_date
from bg_agents.defs._shared.resources import LLM, LLM_POOL, OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs._shared.sensing import refresh_when_deps_change
from bg_agents.defs.enrichment.checks import (
    CUSTOMER_CHECKS,
    TRANSACTION_CHECKS,
    customer_check_results,
    transaction_check_results,
)
from bg_agents.defs.enrichment.customers import (
    build_provider,
    coverage_by_source,
    enrich_customers,
    profiles_by_status,
)
from bg_agents.defs.enrichment.service import enrich_days, stored_version
from bg_agents.lib.db.models import CustomerProfile, TransactionEnrichment
from bg_agents.lib.settings import load_enrichment_settings


@with_code_reference
@dg.asset(
    metadata=table_schema(TransactionEnrichment),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["transactions"],
    pool=LLM_POOL,
    retry_policy=OUTSIDE_WORLD_RETRY_POLICY,
    automation_condition=refresh_when_deps_change,
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
    with app_db.engine.connect() as conn:
        version = stored_version(conn, first, last)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(version),
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


# -- customer_profiles (customer enrichment) ---------------------------------------------------


class CustomerProfilesConfig(dg.Config):
    # The customers to enrich (only those that need it: new, changed, stale or failed an hour
    # ago); None: every customer that needs it. customer_profile_sensor fills it in.
    customer_ids: list[int] | None = None


@with_code_reference
@dg.asset(
    metadata=table_schema(CustomerProfile),
    retry_policy=OUTSIDE_WORLD_RETRY_POLICY,
    check_specs=CUSTOMER_CHECKS,
    group_name="enrichment",
    kinds={"python", "sql"},
    owners=["team:data"],
    description=(
        "Company facts for every customer (company name, domain, industry, size band, country, "
        "logo), each with its source and fetch time, and one profile per customer saying what "
        "each source gave. The provider is BG_AGENTS_ENRICHMENT_URL's (cached, rate-limited, "
        "retried, behind a circuit breaker), else offline: the billing e-mail's domain, "
        "free-mail ignored. A fact set with `bg-agents customers set` is never replaced; the "
        "customer record's company and country win over the provider and follow its edits. "
        "Only new, changed, "
        "stale or failed customers are enriched: re-running with nothing changed writes "
        "nothing. customer_profile_sensor requests it when customers change."
    ),
)
def customer_profiles(
    context: dg.AssetExecutionContext, config: CustomerProfilesConfig, app_db: AppDatabase
) -> dg.MaterializeResult:
    settings = load_enrichment_settings()
    provider = build_provider(app_db.engine, settings)
    try:
        counts = enrich_customers(
            app_db.engine,
            provider,
            ttl=timedelta(days=settings.cache_days),
            customer_ids=config.customer_ids,
        )
    finally:
        provider.close()
    context.log.info(
        f"{counts.seen} customers: {counts.enriched} enriched, {counts.partial} partial, "
        f"{counts.failed} failed, {counts.unchanged} unchanged; {provider.name}: "
        f"{counts.provider_calls} requests, {counts.cache_hits} cached answers"
    )
    unavailable = counts.breaker_open > 0 or counts.breaker_state != "closed"
    if counts.failed:
        context.log.warning(
            f"{counts.failed} customers could not be enriched (tried again in an hour): "
            + ("provider unavailable; " if unavailable else "")
            + "; ".join(counts.errors)
        )
    by_status = profiles_by_status(app_db.engine)
    hit_rate = counts.cache_hit_rate
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(sum(by_status.values())),
            "changed": dg.MetadataValue.bool(counts.profiled > 0),
            "provider": dg.MetadataValue.text(provider.name),
            "customers_seen": dg.MetadataValue.int(counts.seen),
            "customers_enriched": dg.MetadataValue.int(counts.enriched),
            "customers_partial": dg.MetadataValue.int(counts.partial),
            "customers_failed": dg.MetadataValue.int(counts.failed),
            "customers_unchanged": dg.MetadataValue.int(counts.unchanged),
            "coverage_by_source": counts_table(
                coverage_by_source(app_db.engine), ("source", "facts")
            ),
            "profiles_by_status": counts_table(by_status, ("status", "customers")),
            "provider_calls": dg.MetadataValue.int(counts.provider_calls),
            "provider_errors": dg.MetadataValue.int(counts.provider_errors),
            "cache_hits": dg.MetadataValue.int(counts.cache_hits),
            # Undefined (and left out) when no customer needed a lookup.
            **(
                {"cache_hit_rate": dg.MetadataValue.float(hit_rate)} if hit_rate is not None else {}
            ),
            "breaker_state": dg.MetadataValue.text(
                "provider unavailable" if unavailable else counts.breaker_state
            ),
            "breaker_refused": dg.MetadataValue.int(counts.breaker_open),
        },
        check_results=customer_check_results(app_db.engine),
    )
