"""``weekly_insights``: each team's 3-5 bullet summary of its week, checked before it is stored."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs._shared.metadata import check_result, table_schema, with_code_reference
from bg_agents.defs._shared.partitions import insight_partitions, key_to_date
from bg_agents.defs._shared.resources import LLM, LLM_POOL, OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs.insights import quality
from bg_agents.defs.insights.service import PATHS, generate_slot, teams_in_slot
from bg_agents.lib.db.models import Insight


@dataclass
class SlotInsights:
    statuses: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    sample: str | None = None


def stored_in_slot(conn: Connection, week: date, slot: str) -> SlotInsights:
    """The insights stored for the slot's teams this week: by delivery status and by path."""
    ids = [t.id for t in teams_in_slot(conn, week, slot)]
    out = SlotInsights()
    rows = conn.execute(
        sa.select(Insight.status, Insight.path, Insight.content)
        .where(Insight.week_start == week, Insight.team_id.in_(ids))
        .order_by(Insight.team_id)
    )
    for status, path, content in rows:
        out.statuses[status] += 1
        out.paths[path] += 1
        out.sample = out.sample or content
    return out


class InsightsConfig(dg.Config):
    team: str | None = None  # regenerate one team (its slug) instead of the whole slot
    force: bool = False  # also overwrite insights already delivered


@with_code_reference
@dg.asset(
    metadata=table_schema(Insight),
    partitions_def=insight_partitions,
    deps=["weekly_metrics"],
    pool=LLM_POOL,
    retry_policy=OUTSIDE_WORLD_RETRY_POLICY,
    check_specs=[
        dg.AssetCheckSpec(
            "facts_match_data",
            asset="weekly_insights",
            description=(
                "Every figure in the facts stored with this run's insights equals one recomputed "
                "in Python from the raw transactions and invoices."
            ),
        )
    ],
    group_name="insights",
    kinds={"openai", "sql"},
    owners=["team:data"],
    description=(
        "One insight per team and ISO week: 3-5 bullets written by the insights agent from "
        "computed facts, every number validated, else the deterministic text from the same facts. "
        "Partitioned by week x delivery slot (the UTC offset of the teams' Monday 07:00)."
    ),
)
def weekly_insights(
    context: dg.AssetExecutionContext, config: InsightsConfig, app_db: AppDatabase, llm: LLM
) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension
    week, slot = key_to_date(keys["week"]), keys["slot"]
    backend = llm.chat_backend()
    result = generate_slot(
        app_db.engine,
        week,
        slot,
        backend,
        team=config.team,
        force=config.force,
        run_id=context.run.run_id,
        partition_key=context.partition_key,
        # A retry (run_retries after a killed run, or a re-execution from the UI) takes over the
        # claims its ended ancestors left unfinished instead of waiting out their timeout.
        retry_of=[
            run for run in (context.run.parent_run_id, context.run.root_run_id) if run is not None
        ],
    )
    with app_db.engine.connect() as conn:
        facts_check = quality.insight_facts_match(conn, week, [g.team_id for g in result.generated])
        stored = stored_in_slot(conn, week, slot)
    sample = (
        result.generated[0].content
        if result.generated
        else (stored.sample or "_no team in this slot_")
    )
    return dg.MaterializeResult(
        metadata={
            # What the slot holds now, so a re-run that writes nothing keeps these figures.
            "dagster/row_count": dg.MetadataValue.int(sum(stored.statuses.values())),
            "changed": dg.MetadataValue.bool(bool(result.stored)),
            "generated": dg.MetadataValue.int(len(result.generated)),
            "delivered": dg.MetadataValue.int(stored.statuses["delivered"]),
            # Past the catch-up window when it was due: recorded, never sent.
            "skipped": dg.MetadataValue.int(stored.statuses["skipped"]),
            "awaiting_delivery": dg.MetadataValue.int(stored.statuses["generated"]),
            "waiting_for_metrics": dg.MetadataValue.int(len(result.waiting)),
            # Another run holds these teams' claims and writes them; nobody pays twice.
            "claimed_elsewhere": dg.MetadataValue.int(len(result.claimed_elsewhere)),
            "scope": dg.MetadataValue.text(
                f"team {config.team} only" if config.team else "every team of the slot"
            ),
            # Who wrote the slot's insights, one number per path so the UI can plot them:
            # llm (the model), retried (its second try), offline (the offline backend's rules,
            # SIMULATED), fallback (the deterministic text after the model failed).
            **{f"path_{p}": dg.MetadataValue.int(stored.paths[p]) for p in PATHS},
            "backend": dg.MetadataValue.text(f"{backend.name} ({backend.model})"),
            "sample_insight": dg.MetadataValue.md(sample),
            "llm_calls": dg.MetadataValue.int(result.ledger_calls),
            "prompt_tokens": dg.MetadataValue.int(result.prompt_tokens),
            "completion_tokens": dg.MetadataValue.int(result.completion_tokens),
            "cost_usd": dg.MetadataValue.float(float(result.cost_usd)),
            # cost_usd leaves these out: a cost that cannot be known is not shown as $0.
            "llm_calls_cost_unknown": dg.MetadataValue.int(result.cost_unknown_calls),
        },
        check_results=[check_result("facts_match_data", facts_check)],
    )
