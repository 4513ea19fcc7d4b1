"""Properties of the CSV reader over many damaged variants of one clean export: a stray quote or
a stray byte anywhere costs exactly the row it is in, and the other rows keep their ids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bg_agents.defs.ingestion.csv_file import parse_csv

HEADER = "Date,Description,Counterparty,Amount,Currency\n"
LINES = [
    f"2026-03-{1 + i % 20:02d},Bäckerei Müller {i},Straße {i % 7},-{i % 50 + 1}.{i % 100:02d},EUR"
    for i in range(40)
]
CLEAN = (HEADER + "\n".join(LINES) + "\n").encode("utf-8")


def _parse(data: bytes):  # type: ignore[no-untyped-def]
    return parse_csv(data, sha256="s", team_ref="t", mapping=None, default_currency="EUR")


CLEAN_ROWS, _, _ = _parse(CLEAN)
CLEAN_IDS = [r.external_id for r in CLEAN_ROWS]


@settings(max_examples=150, deadline=None)
@given(row=st.integers(0, len(LINES) - 1), cell=st.integers(0, 4), data=st.data())
def test_a_stray_quote_costs_only_its_own_row(row: int, cell: int, data: st.DataObject) -> None:
    cells = LINES[row].split(",")
    at = data.draw(st.integers(0, len(cells[cell])), label="offset in the cell")
    cells[cell] = cells[cell][:at] + '"' + cells[cell][at:]
    damaged = LINES[:row] + [",".join(cells)] + LINES[row + 1 :]
    rows, rejected, total = _parse((HEADER + "\n".join(damaged) + "\n").encode("utf-8"))
    assert total == len(LINES) == len(rows) + len(rejected)
    # A quote inside a value (Joe"s) is text and the row lands as written; one that opens a
    # value never swallows the rows after it: every other row is read as in the clean file.
    assert [r.external_id for r in rows if r.row_ref != str(row + 1)] == (
        CLEAN_IDS[:row] + CLEAN_IDS[row + 1 :]
    )
    assert len(rejected) <= 1


@settings(max_examples=150, deadline=None)
@given(
    row=st.integers(0, len(LINES) - 1), byte=st.sampled_from([b"\xff", b"\xe4", b"\xc3", b"\x80"])
)
def test_a_stray_byte_costs_only_its_own_row_and_no_other_id_changes(row: int, byte: bytes) -> None:
    line = LINES[row].encode("utf-8")
    damaged_line = line.replace(b"Stra", b"Stra" + byte, 1)
    data = CLEAN.replace(line, damaged_line, 1)
    rows, rejected, total = _parse(data)
    assert total == len(LINES)
    assert [r.external_id for r in rows] == CLEAN_IDS[:row] + CLEAN_IDS[row + 1 :]
    (bad,) = rejected
    assert "invalid UTF-8" in bad["reason"]
