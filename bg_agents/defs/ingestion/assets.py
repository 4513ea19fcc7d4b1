"""``transactions``: bank transactions by booking day, from every provider."""

from collections import Counter

import dagster as dg

from bg_agents.defs._shared.metadata import check_result, counts_table
from bg_agents.defs._shared.partitions import daily_partitions, key_to_date
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.ingestion import quality
from bg_agents.defs.ingestion.transactions import ingest_day

CHECKS = [
    dg.AssetCheckSpec(
        "no_duplicate_natural_keys",
        asset="transactions",
        blocking=True,
        description="No (team, source, external id) is stored twice.",
    ),
    dg.AssetCheckSpec(
        "finite_amounts",
        asset="transactions",
        blocking=True,
        description="Every amount is present and within range.",
    ),
]


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=CHECKS,
    group_name="ingestion",
    kinds={"sql", "python"},
    owners=["team:data"],
    description=(
        "Booked bank transactions, one partition per booking day: the simulated bank feed plus "
        "rows from CSV/OFX files in the import folder. Inserted once per (team, source, external "
        "id); a row reusing a stored id is an identical duplicate or, with other content, a "
        "conflict; unreadable rows and conflicts go to `quarantined_rows` with the reason."
    ),
)
def transactions(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    keys = context.partition_keys
    totals: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for i, key in enumerate(keys, 1):
        result = ingest_day(app_db.engine, key_to_date(key))
        totals.update(
            received=result.received,
            inserted=result.inserted,
            already_present=result.already_present,
            quarantined=result.quarantined,
            conflicts=result.conflicts,
        )
        sources.update(result.by_source)
        reasons.update(result.reasons)
        context.log.info(
            f"[{i}/{len(keys)}] {key}: {result.received} received, {result.inserted} new, "
            f"{result.quarantined} quarantined"
        )
    start, end = key_to_date(keys[0]), key_to_date(keys[-1])
    with app_db.engine.connect() as conn:
        checks = {
            "no_duplicate_natural_keys": quality.duplicate_natural_keys(conn, start, end),
            "finite_amounts": quality.finite_amounts(conn, start, end),
        }
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(totals["received"] - totals["quarantined"]),
            "received": dg.MetadataValue.int(totals["received"]),
            "inserted": dg.MetadataValue.int(totals["inserted"]),
            "already_present": dg.MetadataValue.int(totals["already_present"]),
            "quarantined": dg.MetadataValue.int(totals["quarantined"]),
            # Rows reusing a stored bank id with other content (part of "quarantined").
            "conflicting_duplicates": dg.MetadataValue.int(totals["conflicts"]),
            "by_source": counts_table(sources, ("source", "rows")),
            "quarantine_reasons": counts_table(reasons, ("reason", "rows")),
            "days": dg.MetadataValue.int(len(keys)),
        },
        check_results=[check_result(name, outcome) for name, outcome in checks.items()],
    )
