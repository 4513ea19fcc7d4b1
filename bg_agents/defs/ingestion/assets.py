"""``transactions``: bank transactions by booking day, from every provider."""

import dagster as dg

from bg_agents.defs._shared.metadata import (
    check_result,
    counts_table,
    table_schema,
    with_code_reference,
)
from bg_agents.defs._shared.partitions import daily_partitions, key_to_date
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.ingestion import quality
from bg_agents.defs.ingestion.transactions import IngestResult, ingest_day
from bg_agents.lib.db.models import Transaction

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


@with_code_reference
@dg.asset(
    metadata=table_schema(Transaction),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=CHECKS,
    group_name="ingestion",
    kinds={"sql", "python"},
    owners=["team:data"],
    description=(
        "Booked bank transactions, one partition per booking day: the simulated bank feed plus "
        "rows from the bank files in the import folder (CSV, Parquet, OFX, MT940, camt, QIF). "
        "Inserted once per (team, source, external id); a row reusing a stored id is an "
        "identical duplicate or, with other content, a conflict; unreadable rows and conflicts "
        "go to `quarantined_rows` with the reason."
    ),
)
def transactions(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    """Each day of the run gets its own materialization with that day's figures (one run may
    cover a week: a single-run backfill, the schedule's catch-up), so per-partition plots show
    days, not the run's totals. ``dagster/row_count`` is what the partition holds (its stored
    transactions), so a re-run that adds nothing reports the same count with ``changed: false``
    and ``inserted: 0`` instead of replacing the day's figures with zeros."""
    keys = context.partition_keys
    for i, key in enumerate(keys, 1):
        result = ingest_day(app_db.engine, key_to_date(key))
        context.log.info(
            f"[{i}/{len(keys)}] {key}: {result.received} received, {result.inserted} new, "
            f"{result.quarantined} quarantined"
        )
        with app_db.engine.connect() as conn:
            stored = quality.rows_on(conn, key_to_date(key))
        context.add_asset_metadata(day_metadata(result, stored), partition_key=key)
    start, end = key_to_date(keys[0]), key_to_date(keys[-1])
    with app_db.engine.connect() as conn:
        checks = {
            "no_duplicate_natural_keys": quality.duplicate_natural_keys(conn, start, end),
            "finite_amounts": quality.finite_amounts(conn, start, end),
        }
        version = quality.stored_version(conn, start, end)
    return dg.MaterializeResult(
        data_version=dg.DataVersion(version),
        check_results=[check_result(name, outcome) for name, outcome in checks.items()],
    )


def day_metadata(result: IngestResult, stored: int) -> dict[str, dg.MetadataValue]:
    return {
        "dagster/row_count": dg.MetadataValue.int(stored),
        "changed": dg.MetadataValue.bool(result.inserted > 0),
        "received": dg.MetadataValue.int(result.received),
        "inserted": dg.MetadataValue.int(result.inserted),
        "already_present": dg.MetadataValue.int(result.already_present),
        "quarantined": dg.MetadataValue.int(result.quarantined),
        # Rows reusing a stored bank id with other content (part of "quarantined").
        "conflicting_duplicates": dg.MetadataValue.int(result.conflicts),
        "by_source": counts_table(result.by_source, ("source", "rows")),
        "quarantine_reasons": counts_table(result.reasons, ("reason", "rows")),
    }
