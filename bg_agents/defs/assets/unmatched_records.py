"""``unmatched_records``: receipts, invoices and payments of a day that still have no link."""

from collections import Counter

import dagster as dg

from bg_agents.defs.metadata import counts_table
from bg_agents.defs.partitions import daily_partitions, key_to_date
from bg_agents.defs.resources import AppDatabase
from bg_agents.services.unmatched import snapshot_unmatched


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["transactions"],
    group_name="reconciliation",
    kinds={"sql", "python"},
    owners=["team:data"],
    description=(
        "Records dated that day with no link yet: receipts (documents), open invoices (by issue "
        "date) and incoming payments. Each partition is a snapshot, replaced on every run; the "
        "matcher reads it."
    ),
)
def unmatched_records(
    context: dg.AssetExecutionContext, app_db: AppDatabase
) -> dg.MaterializeResult:
    totals: Counter[str] = Counter()
    for key in context.partition_keys:
        totals.update(snapshot_unmatched(app_db.engine, key_to_date(key)))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(sum(totals.values())),
            "receipts": dg.MetadataValue.int(totals["receipt"]),
            "invoices": dg.MetadataValue.int(totals["invoice"]),
            "payments": dg.MetadataValue.int(totals["payment"]),
            "by_kind": counts_table(totals, ("kind", "records")),
        }
    )
