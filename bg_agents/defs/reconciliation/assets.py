"""Assets: ``unmatched_records`` (a day's records with no link), ``match_model`` (the learned
matcher's model), ``record_matches`` (links)."""

from collections import Counter
from datetime import timedelta

import dagster as dg

from bg_agents.defs._shared.metadata import counts_table, markdown_table
from bg_agents.defs._shared.partitions import daily_partitions, key_to_date
from bg_agents.defs._shared.resources import LLM, LLM_POOL, OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs.reconciliation.matcher import PROFILES
from bg_agents.defs.reconciliation.matcher.evidence.model import EvidenceModel
from bg_agents.defs.reconciliation.model_store import (
    MATCHING_PROFILE,
    matching_for,
    save,
    train,
)
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.defs.reconciliation.unmatched import snapshot_unmatched
from bg_agents.lib import clock

CHART_WIDTH = 24  # characters of the longest bar in the match-weight chart


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


def weight_chart(model: EvidenceModel) -> str:
    """Each comparison level's match weight as a text bar: right of the axis for a match,
    left against (the UI renders markdown, and no plotting library is a dependency)."""
    rows = model.weight_table()
    largest = max((abs(r["weight"]) for r in rows), default=0.0) or 1.0
    label_width = max((len(f"{r['comparison']}: {r['level']}") for r in rows), default=0)
    lines = []
    for r in rows:
        bar = "#" * round(abs(r["weight"]) / largest * CHART_WIDTH)
        left, right = (bar, "") if r["weight"] < 0 else ("", bar)
        label = f"{r['comparison']}: {r['level']}"
        lines.append(f"{label:<{label_width}} {r['weight']:+6.1f} {left:>{CHART_WIDTH}}|{right}")
    return "Match weight (log2 m/u) per level\n\n```\n" + "\n".join(lines) + "\n```"


@dg.asset(
    deps=["transactions"],
    group_name="reconciliation",
    kinds={"python", "sql"},
    owners=["team:data"],
    description=(
        "The learned matcher's model (Fellegi-Sunter: how telling each level of amount, date, "
        "names, reference and currency agreement is), fitted on every team's records and bank "
        "rows and then moved by people's confirmed and declined pairs. Stored under the digest "
        "of its parameters, so re-training on unchanged data stores nothing new. record_matches "
        "reads the latest one; it never fits a model inside a run, so the answer does not depend "
        "on how days are grouped into runs. Re-estimated weekly."
    ),
)
def match_model(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    model = train(app_db.engine)
    saved = save(app_db.engine, model, clock.now)
    trained = model.trained_on
    context.log.info(
        f"match model {saved.digest[:12]} ({'new' if saved.new else 'unchanged'}): "
        f"{trained.get('records', 0)} records, {trained.get('pairs', 0)} pairs, "
        f"{trained.get('labels', 0)} decisions"
    )
    parameters = [
        (r["comparison"], r["level"], f"{r['m']:.4f}", f"{r['u']:.4f}", f"{r['weight']:+.2f}")
        for r in model.weight_table()
    ]
    return dg.MaterializeResult(
        metadata={
            "digest": dg.MetadataValue.text(saved.digest),
            "new": dg.MetadataValue.bool(saved.new),
            **{f"trained_on/{k}": dg.MetadataValue.int(int(v)) for k, v in trained.items()},
            "match_share": dg.MetadataValue.float(round(model.match_share, 4)),
            "parameters": markdown_table(parameters, ("comparison", "level", "m", "u", "weight")),
            "match_weights": dg.MetadataValue.md(weight_chart(model)),
        }
    )


class MatchConfig(dg.Config):
    # A named profile: learned (the stored match_model's evidence; seed until one is stored),
    # seed (0.5 %, 5 days, 0.8), strict, lenient.
    profile: str = MATCHING_PROFILE


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["unmatched_records", "transactions", "match_model"],
    pool=LLM_POOL,
    retry_policy=OUTSIDE_WORLD_RETRY_POLICY,
    group_name="reconciliation",
    kinds={"python", "sql", "openai"},
    owners=["team:data"],
    description=(
        "Matches the records (receipts, open invoices) of every team with data that day against "
        "its bank transactions, the team's whole history at once, so the answer does not depend "
        "on how days are grouped into runs. By default the evidence of the stored match_model "
        "decides (the seed's rules until one is stored; metadata says which): automatic links "
        "when the evidence and the rules' limits hold and nothing else comes close (the team is "
        "notified at once), suggestions for review otherwise (VAT, "
        "fees, FX, partial and combined payments). The model only breaks ties, under the same "
        "rules, and a tie it broke is not asked again. Re-running changes nothing. Metadata "
        "counts the pairs of records dated in the run's days."
    ),
)
def record_matches(
    context: dg.AssetExecutionContext, config: MatchConfig, app_db: AppDatabase, llm: LLM
) -> dg.MaterializeResult:
    if config.profile not in PROFILES:
        # A mistake in the run's config: retrying cannot fix it.
        raise dg.Failure(
            f"unknown profile {config.profile!r}; known: {', '.join(PROFILES)}",
            allow_retries=False,
        )
    matching = matching_for(app_db.engine, config.profile)
    if matching.fallback:
        context.log.warning(matching.fallback)
    days = [key_to_date(k) for k in context.partition_keys]
    report = reconcile(
        app_db.engine,
        min(days),
        max(days),
        config=matching.config,
        model=matching.model,
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
            "profile": dg.MetadataValue.text(matching.profile),
            "engine": dg.MetadataValue.text(matching.config.engine),
            "model": dg.MetadataValue.text(matching.digest or "none"),
            **({"fallback": dg.MetadataValue.text(matching.fallback)} if matching.fallback else {}),
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
