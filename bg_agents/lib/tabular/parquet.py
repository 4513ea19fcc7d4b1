"""Parquet exports as the text a CSV export of the same data would hold.

Both readers work on text cells (so amounts stay exact and one set of rules reads them); a typed
Parquet value is written the way the CSV would write it: dates ISO, decimals exact, null empty.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bg_agents.lib.tabular.text import TabularError


def parquet_text(value: Any) -> str:
    """A typed Parquet value as the text a CSV export would hold (dates ISO, amounts exact)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return "" if value != value else repr(value)  # NaN is a missing value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    return str(value).strip()


def read_parquet(source: Path | bytes) -> tuple[list[str], list[list[str]]]:
    """The column names and the columns' cells as text; TabularError if it is not Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(source) if isinstance(source, bytes) else source)
    except (pa.ArrowException, OSError) as exc:
        raise TabularError(f"not a readable Parquet file ({exc})") from None
    names = [str(c).strip() for c in table.column_names]
    return names, [[parquet_text(v) for v in column.to_pylist()] for column in table.columns]


def parquet_as_csv(data: bytes) -> str:
    """A Parquet file as comma-separated text, header first, for a reader of CSV text."""
    names, columns = read_parquet(data)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*columns, strict=True))
    return out.getvalue()
