"""Small helpers that turn results into UI metadata (markdown previews, table schemas, code
references)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
import sqlalchemy as sa

from bg_agents.lib.checks import CheckOutcome
from bg_agents.lib.db.types import Money


def markdown_table(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = (str(c).replace("|", "\\|").replace("\n", " ") for c in row)
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def counts_table(counts: Mapping[str, int], header: tuple[str, str]) -> dg.MetadataValue:
    return markdown_table(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), header)


def check_result(name: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=outcome.passed,
        description=outcome.description,
        metadata=outcome.metadata,
    )


def _column_type(column: sa.Column) -> str:
    """The type a reader of the table sees: money is stored as integer units of 1/10,000 but
    read as a decimal, so it is shown as one."""
    return "decimal" if isinstance(column.type, Money) else str(column.type).lower()


def table_schema(model: type) -> dict[str, Any]:
    """Definition metadata naming the table an asset writes and its columns (the UI's Columns
    tab and column lineage), read from the SQLAlchemy model so it cannot drift from it."""
    table = model.__table__  # type: ignore[attr-defined]
    columns = [
        dg.TableColumn(
            name=c.name,
            type=_column_type(c),
            constraints=dg.TableColumnConstraints(nullable=bool(c.nullable), unique=bool(c.unique)),
        )
        for c in table.columns
    ]
    return {
        "dagster/table_name": table.name,
        "dagster/column_schema": dg.TableSchema(columns=columns),
    }


def with_code_reference(asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The asset with the file and line of its function as metadata (the UI links to it).

    Dagster marks the API beta; it is used knowingly here, so its warning is silenced for this
    call only (it would print on every load of the code location)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        (out,) = dg.with_source_code_references([asset])
    return out  # type: ignore[return-value]
