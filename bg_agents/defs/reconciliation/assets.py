"""Assets: ``unmatched_records`` (a day's records with no link), ``match_model`` (the learned
matcher's model), ``record_matches`` (links)."""

from dataclasses import dataclass, field
from datetime import date, timedelta

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs._shared.metadata import (
    counts_table,
    markdown_table,
    table_schema,
    with_code_reference,
)
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
from bg_agents.defs.reconciliation.unmatched import active_link, snapshot_unmatched
from bg_agents.lib import clock
from bg_agents.lib.db.models import Document, Invoice, Match, MatchModel, UnmatchedRecord

CHART_WIDTH = 24  # characters of the longest bar in the match-weight chart


@with_code_reference
@dg.asset(
    metadata=table_schema(UnmatchedRecord),
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
    """Each day of the run reports its own snapshot (one materialization per partition)."""
    for key in context.partition_keys:
        counts = snapshot_unmatched(app_db.engine, key_to_date(key))
        context.add_asset_metadata(
            {
                "dagster/row_count": dg.MetadataValue.int(sum(counts.values())),
                "receipts": dg.MetadataValue.int(counts["receipt"]),
                "invoices": dg.MetadataValue.int(counts["invoice"]),
                "payments": dg.MetadataValue.int(counts["payment"]),
                "by_kind": counts_table(counts, ("kind", "records")),
            },
            partition_key=key,
        )
    return dg.MaterializeResult()


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


@with_code_reference
@dg.asset(
    metadata=table_schema(MatchModel),
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


SAMPLES_PER_DAY = 5


@dataclass
class DayPairs:
    links: int = 0
    suggestions: int = 0
    samples: list[tuple[str, str, str, str, str]] = field(default_factory=list)


def stored_pairs_by_day(engine: Engine, start: date, end: date) -> dict[date, DayPairs]:
    """The links (not declined) and open suggestions of records dated each day (a receipt by its
    date, an invoice by its issue date), with the first few pairs' explanations as samples."""
    out = {start + timedelta(days=i): DayPairs() for i in range((end - start).days + 1)}
    dated = [
        (
            "document",
            sa.select(Document.id, Document.document_date.label("day"), Document.external_id)
            .where(Document.document_date.between(start, end))
            .subquery(),
        ),
        (
            "invoice",
            sa.select(Invoice.id, Invoice.issue_date.label("day"), Invoice.number)
            .where(Invoice.issue_date.between(start, end))
            .subquery(),
        ),
    ]
    with engine.connect() as conn:
        for kind, records in dated:
            ref = list(records.c)[2]
            rows = conn.execute(
                sa.select(records.c.day, ref, Match.transaction_id, Match.decision, Match.score,
                          Match.explanation)
                .join(Match, (Match.record_kind == kind) & (Match.record_id == records.c.id))
                .where(active_link() | ((Match.decision == "suggestion")
                                        & (Match.status == "pending")))
                .order_by(records.c.day, Match.id)
            ).all()  # fmt: skip
            for day, record, tx, decision, score, why in rows:
                pairs = out[day]
                if decision == "link":
                    pairs.links += 1
                else:
                    pairs.suggestions += 1
                if len(pairs.samples) < SAMPLES_PER_DAY:
                    pairs.samples.append(
                        (f"{kind} {record}", f"tx {tx}", decision, f"{score:.2f}", why)
                    )
    return out


class MatchConfig(dg.Config):
    # A named profile: learned (the stored match_model's evidence; seed until one is stored),
    # seed (0.5 %, 5 days, 0.8), strict, lenient.
    profile: str = MATCHING_PROFILE


@with_code_reference
@dg.asset(
    metadata=table_schema(Match),
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
        "rules, and a tie it broke is not asked again. Re-running changes nothing. Each day's "
        "metadata counts the links and open suggestions of the records dated that day, with "
        "sample explanations; figures for the whole run are under run/."
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
    for day, stored in stored_pairs_by_day(app_db.engine, min(days), max(days)).items():
        context.add_asset_metadata(
            {
                # What the day's records have now, so a re-run shows the same figures.
                "dagster/row_count": dg.MetadataValue.int(stored.links + stored.suggestions),
                # One number per decision so the UI can plot them across partitions.
                "auto_links": dg.MetadataValue.int(stored.links),
                "suggestions": dg.MetadataValue.int(stored.suggestions),
                "explanations": markdown_table(
                    stored.samples, ("record", "transaction", "decision", "score", "why")
                ),
            },
            partition_key=day.isoformat(),
        )
    precision = report.precision
    # The matcher answers for all the run's days at once (a team's whole history), so these
    # figures are the run's: every partition of the run carries them under "run/".
    return dg.MaterializeResult(
        metadata={
            "changed": dg.MetadataValue.bool(report.written > 0),
            "run/days": dg.MetadataValue.int(len(days)),
            "run/written": dg.MetadataValue.int(report.written),
            "run/records": dg.MetadataValue.int(report.records),
            "run/candidates": dg.MetadataValue.int(report.candidates),
            "run/by_relation": counts_table(report.relations, ("relation", "pairs")),
            "run/notified": dg.MetadataValue.int(report.notified),
            "run/ties": dg.MetadataValue.int(report.ties),
            "run/llm_calls": dg.MetadataValue.int(report.model_calls),
            "run/llm_links": dg.MetadataValue.int(report.model_links),
            "profile": dg.MetadataValue.text(matching.profile),
            "engine": dg.MetadataValue.text(matching.config.engine),
            "model": dg.MetadataValue.text(matching.digest or "none"),
            **({"fallback": dg.MetadataValue.text(matching.fallback)} if matching.fallback else {}),
            **(
                {
                    "run/simulated_precision": dg.MetadataValue.float(precision),
                    "run/simulated_links_checked": dg.MetadataValue.int(report.truth_checked),
                }
                if precision is not None
                else {}
            ),
        }
    )
