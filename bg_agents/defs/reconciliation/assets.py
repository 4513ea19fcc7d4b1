"""Assets: ``unmatched_records`` (a day's records with no link), ``record_matches`` (links)."""

from collections import Counter
from datetime import timedelta

import dagster as dg

from bg_agents.defs._shared.metadata import counts_table
from bg_agents.defs._shared.partitions import daily_partitions, key_to_date
from bg_agents.defs._shared.resources import LLM, LLM_POOL, AppDatabase
from bg_agents.defs.reconciliation.matcher import PROFILES, profile
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.defs.reconciliation.unmatched import snapshot_unmatched


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


class MatchConfig(dg.Config):
    profile: str = "seed"  # a named rule profile: seed (0.5 %, 5 days, 0.8), strict, lenient


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["unmatched_records", "transactions"],
    pool=LLM_POOL,
    group_name="reconciliation",
    kinds={"python", "sql", "openai"},
    owners=["team:data"],
    description=(
        "Matches the records (receipts, open invoices) of every team with data that day against "
        "its bank transactions, the team's whole history at once, so the answer does not depend "
        "on how days are grouped into runs: automatic links when the rules hold and nothing else "
        "comes close (the team is notified at once), suggestions for review otherwise (VAT, "
        "fees, FX, partial and combined payments). The model only breaks ties, under the same "
        "rules, and a tie it broke is not asked again. Re-running changes nothing. Metadata "
        "counts the pairs of records dated in the run's days."
    ),
)
def record_matches(
    context: dg.AssetExecutionContext, config: MatchConfig, app_db: AppDatabase, llm: LLM
) -> dg.MaterializeResult:
    if config.profile not in PROFILES:
        raise dg.Failure(f"unknown profile {config.profile!r}; known: {', '.join(PROFILES)}")
    days = [key_to_date(k) for k in context.partition_keys]
    report = reconcile(
        app_db.engine,
        min(days),
        max(days),
        config=profile(config.profile),
        backend=llm.chat_backend(),
        run_id=context.run.run_id,
        partition_key=context.partition_key if len(days) == 1 else None,
    )
    context.log.info(
        f"{report.records} records of {report.teams} teams against {report.candidates} "
        f"transactions ({(max(days) - min(days) + timedelta(1)).days} days): "
        f"{report.decisions['auto']} linked, {report.decisions['suggest']} suggested"
    )
    precision = report.precision
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(report.written),
            "records": dg.MetadataValue.int(report.records),
            "candidates": dg.MetadataValue.int(report.candidates),
            # One number per decision so the UI can plot them across partitions.
            "auto_links": dg.MetadataValue.int(report.decisions["auto"]),
            "suggestions": dg.MetadataValue.int(report.decisions["suggest"]),
            "by_relation": counts_table(report.relations, ("relation", "pairs")),
            "notified": dg.MetadataValue.int(report.notified),
            "ties": dg.MetadataValue.int(report.ties),
            "llm_calls": dg.MetadataValue.int(report.model_calls),
            "llm_links": dg.MetadataValue.int(report.model_links),
            "profile": dg.MetadataValue.text(config.profile),
            **(
                {
                    "simulated_precision": dg.MetadataValue.float(precision),
                    "simulated_links_checked": dg.MetadataValue.int(report.truth_checked),
                }
                if precision is not None
                else {}
            ),
        }
    )
