"""What the UI's catalog shows of each table-backed asset: the table and its columns (read from the
model, so they cannot drift) and a link to the code that materializes it."""

from pathlib import Path

import dagster as dg
import pytest

from bg_agents.definitions import defs
from bg_agents.lib.db.models import (
    Insight,
    Match,
    MatchModel,
    Transaction,
    UnmatchedRecord,
    WeeklyMetric,
)

TABLES = {
    "transactions": Transaction, "unmatched_records": UnmatchedRecord, "match_model": MatchModel,
    "record_matches": Match, "weekly_metrics": WeeklyMetric, "weekly_insights": Insight,
}  # fmt: skip
PACKAGE = Path(__file__).resolve().parents[1] / "bg_agents"


@pytest.mark.parametrize("asset", sorted(TABLES))
def test_the_asset_names_its_table_columns_and_code(asset: str) -> None:
    spec = defs.get_assets_def(asset).specs_by_key[dg.AssetKey(asset)]
    model = TABLES[asset]
    assert spec.metadata["dagster/table_name"] == model.__tablename__
    columns = {c.name: c.type for c in spec.metadata["dagster/column_schema"].columns}
    assert list(columns) == [c.name for c in model.__table__.columns]
    if "amount" in columns or "revenue" in columns:  # money reads as a decimal, not its units
        assert columns.get("amount", columns.get("revenue")) == "decimal"
    (reference,) = spec.metadata["dagster/code_references"].code_references
    path = Path(reference.file_path)
    assert path.is_relative_to(PACKAGE / "defs")
    # The line where the asset's decorators begin, above its function.
    following = path.read_text().splitlines()[reference.line_number - 1 :]
    assert following[0].startswith("@")
    assert next(line for line in following if line.startswith("def ")).startswith(f"def {asset}(")


def test_the_run_locations_name_is_workspace_yamls() -> None:
    """Demo runs record this location; the UI re-executes a run only in a location of that name."""
    from bg_agents.inprocess import LOCATION

    workspace = (PACKAGE.parent / "workspace.yaml").read_text()
    assert f"location_name: {LOCATION}\n" in workspace
