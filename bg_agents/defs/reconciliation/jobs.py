"""Jobs: what the reconciliation schedules launch."""

import dagster as dg

match_model_job = dg.define_asset_job(
    "match_model_job",
    selection=["match_model"],
    description="Re-estimate the learned matcher's model from all teams' data and decisions.",
)
