"""Properties of the CSV reader over many damaged variants of one clean export: a stray quote or
a stray byte anywhere costs exactly the row it is in, and the other rows keep their ids."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bg_agents.defs.ingestion.csv_file import parse_csv

HEADER = "Date,Description,Counterparty,Amount,Currency\n"
LINES = [
    f"2026-03-{1 + i % 20:02d},Bäckerei Müller {i},Straße {i % 7},-{i % 50 + 1}.{i % 100:02d},EUR"
    for i in range(40)
]
CLEAN = (HEADER + "\n".join(LINES) + "\n").encode("utf-8")


def _parse(data: bytes):  # type: ignore[no-untyped-def]
    parsed = parse_csv(data, sha256="s", team_ref="t", mapping=None, default_currency="EUR")
    return parsed.rows, parsed.rejected, parsed.rows_total


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


# The same export as a German bank writes it: ";" between cells and a decimal comma, so every
# line also splits on "," (the delimiter must not be decided by a reader a stray quote derails).
SEMI_HEADER = "Buchungstag;Verwendungszweck;Auftraggeber/Empfänger;Betrag;Währung\n"
SEMI_LINES = [line.replace(",", ";").replace(".", ",") for line in LINES]
SEMI_CLEAN = (SEMI_HEADER + "\n".join(SEMI_LINES) + "\n").encode("utf-8")
SEMI_IDS = [r.external_id for r in _parse(SEMI_CLEAN)[0]]


def _with_quotes(lines: list[str], sep: str, spots: list[tuple[int, int, int]]) -> bytes:
    damaged = list(lines)
    for row, cell, at in spots:
        cells = damaged[row].split(sep)
        text = cells[cell % len(cells)]
        cells[cell % len(cells)] = text[: at % (len(text) + 1)] + '"' + text[at % (len(text) + 1) :]
        damaged[row] = sep.join(cells)
    return (SEMI_HEADER + "\n".join(damaged) + "\n").encode("utf-8")


@settings(max_examples=150, deadline=None)
@given(
    spots=st.lists(
        st.tuples(st.integers(0, len(LINES) - 1), st.integers(0, 4), st.integers(0, 40)),
        min_size=1,
        max_size=3,
        unique_by=lambda spot: spot[0],
    )
)
@example(spots=[(4, 1, 0), (5, 1, 0)])  # two values opened on neighbouring lines pair up
@example(spots=[(len(LINES) - 1, 2, 0)])  # still open at the end of the file
# Quotes in the same column of neighbouring rows pair up into one record of the right width.
@example(spots=[(21, 3, 0), (22, 3, 34)])
def test_stray_quotes_in_a_semicolon_file_cost_only_their_own_rows(
    spots: list[tuple[int, int, int]],
) -> None:
    """Up to three stray quotes, on any rows (neighbours too): never the whole file, and no row
    without one is lost or changed."""
    rows, rejected, total = _parse(_with_quotes(SEMI_LINES, ";", spots))
    damaged = {str(row + 1) for row, _, _ in spots}
    assert total == len(SEMI_LINES) == len(rows) + len(rejected)
    assert {r["row_ref"] for r in rejected} <= damaged
    assert [r.external_id for r in rows if r.row_ref not in damaged] == [
        SEMI_IDS[i] for i in range(len(SEMI_LINES)) if str(i + 1) not in damaged
    ]
