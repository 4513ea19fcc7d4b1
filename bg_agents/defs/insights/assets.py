"""``weekly_insights``: each team's 3-5 bullet summary of its week, checked before it is stored."""

import dagster as dg

from bg_agents.defs._shared.metadata import check_result
from bg_agents.defs._shared.partitions import insight_partitions, key_to_date
from bg_agents.defs._shared.resources import LLM, LLM_POOL, OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs.insights import quality
from bg_agents.defs.insights.service import generate_slot


class InsightsConfig(dg.Config):
    team: str | None = None  # regenerate one team (its slug) instead of the whole slot
    force: bool = False  # also overwrite insights already delivered


@dg.asset(
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
    result = generate_slot(
        app_db.engine,
        week,
        slot,
        llm.chat_backend(),
        team=config.team,
        force=config.force,
        run_id=context.run.run_id,
        partition_key=context.partition_key,
    )
    paths: dict[str, int] = {"llm": 0, "retried": 0, "fallback": 0}
    for g in result.generated:
        paths[g.path] += 1
    with app_db.engine.connect() as conn:
        facts_check = quality.insight_facts_match(conn, week, [g.team_id for g in result.generated])
    sample = result.generated[0].content if result.generated else "_no team in this slot_"
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(result.stored),
            "teams": dg.MetadataValue.int(len(result.generated)),
            "waiting_for_metrics": dg.MetadataValue.int(len(result.waiting)),
            # Another run holds these teams' claims and writes them; nobody pays twice.
            "claimed_elsewhere": dg.MetadataValue.int(len(result.claimed_elsewhere)),
            "scope": dg.MetadataValue.text(
                f"team {config.team} only" if config.team else "every team of the slot"
            ),
            # One number per path (not a table) so the UI can plot them across partitions.
            **{f"path_{p}": dg.MetadataValue.int(n) for p, n in paths.items()},
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
