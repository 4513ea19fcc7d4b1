"""Small helpers that turn results into UI metadata (markdown previews)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from bg_agents.lib.checks import CheckOutcome


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
