"""The one tabular reader: amounts, dates, column maps, decoding and delimiters read the same way
for imports and ``bg-agents match``, and a file that imports also matches (and vice versa)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bg_agents.cli import main
from bg_agents.defs.ingestion.files import read_import_file
from bg_agents.defs.ingestion.formats import SUPPORTED_SUFFIXES, ImportFileError, load_mapping
from bg_agents.defs.reconciliation.matcher.exports import READ_SUFFIXES, InputError, read_sides
from bg_agents.lib.tabular.amounts import (
    AmbiguousDecimal,
    decimal_mark,
    parse_amount,
    parse_amount_text,
)
from bg_agents.lib.tabular.columns import (
    ColumnMap,
    ColumnMapError,
    find_column,
    parse_column_map,
)
from bg_agents.lib.tabular.dates import (
    AmbiguousDates,
    DateReader,
    numeric_date_order,
    parse_date_auto,
)
from bg_agents.lib.tabular.suffixes import TABULAR_SUFFIXES
from bg_agents.lib.tabular.text import (
    TabularError,
    bad_bytes_reason,
    decode_bank_text,
    sniff_delimiter,
)

MATCH_FIELDS = ("id", "date", "amount", "name", "currency")


# --- column maps ---------------------------------------------------------------------------------


def test_both_spellings_of_a_column_map_parse_into_the_same_model() -> None:
    spec = parse_column_map(
        "ID=unique_id, date=Transaction Date,amount=amount,name=payee+memo,",
        MATCH_FIELDS,
        joinable=("name",),
    )
    from_json = parse_column_map(
        json.dumps(
            {
                "columns": {
                    "id": "unique_id",
                    "date": "Transaction Date",
                    "amount": "amount",
                    "name": "payee+memo",
                },
                "decimal": ",",
            }
        ),
        MATCH_FIELDS,
        joinable=("name",),
    )
    assert (
        spec.columns
        == from_json.columns
        == {
            "id": "unique_id",
            "date": "Transaction Date",
            "amount": "amount",
            "name": "payee+memo",
        }
    )
    assert (spec.options, from_json.options) == ({}, {"decimal": ","})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty column map"),
        (" , ", "empty column map"),
        ("id", "bad column map entry 'id': expected \"field=column\""),
        ("=unique_id", "bad column map entry"),
        ("id=unique_id,payee=memo", "unknown field 'payee' in the column map; the fields are: id"),
        ("id=", "gives no column for 'id'"),
        ("id=a,id=b", "gives 'id' twice"),
        ("name=payee++memo", "bad name columns"),
        ("name=payee+", "bad name columns"),
        ("{not json", "invalid JSON"),
        ('{"columns": {"id": "a"}, "date_fromat": "%d"}', "unknown key.*date_fromat"),
        ('{"columns": {"when": "a"}}', "unknown field 'when'"),
        ('{"columns": ["id"]}', '"columns" must map field names'),
        ('{"date_format": "DD.MM.YYYY"}', "strptime format such as '%d.%m.%Y'"),
        ('{"date_format": "%d.%m"}', "must contain the day, month and year"),
        ('{"decimal": ";"}', 'decimal must be "." or ","'),
        ('{"default_currency": "Euro"}', "3-letter ISO code"),
    ],
)
def test_bad_column_maps_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ColumnMapError, match=message.replace("(", r"\(")):
        parse_column_map(text, MATCH_FIELDS, joinable=("name",))


def test_only_joinable_fields_split_on_plus() -> None:
    column_map = parse_column_map("amount=Amount (+/-)", MATCH_FIELDS, joinable=("name",))
    assert column_map.columns == {"amount": "Amount (+/-)"}


def test_a_column_is_found_by_its_header_however_it_is_written() -> None:
    columns = ["Buchungs-Nr", "Währung", "Amount (EUR)", "Base Amount", "Name", "Name (2)"]
    assert find_column("buchungs nr", columns) == "Buchungs-Nr"
    assert find_column("wahrung", columns) == "Währung"
    assert find_column("amount", columns) == "Amount (EUR)"
    assert find_column("base_amount", columns) == "Base Amount"
    assert find_column("name", columns) == "Name"  # the exact-but-case header, not "Name (2)"
    assert find_column("date", columns) is None
    assert find_column("amount", ["Amount (EUR)", "Amount (USD)"]) is None  # reads two ways


def test_match_finds_the_columns_the_import_recognizes(tmp_path: Path) -> None:
    """Match looked up a field's column ignoring only case, spaces and hyphens, so a file whose
    "Amount (EUR)" and "Währung" columns imported needed a column map to match."""
    path = tmp_path / "bank.csv"
    path.write_text(
        "ID,Date,Amount (EUR),Name,Wahrung\n1,2026-03-02,-4.50,Cafe,EUR\n", encoding="utf-8"
    )
    (side,) = read_sides(path, {"currency": "Währung"}, default_currency=None)
    assert (side.amount, side.currency) == (Decimal("-4.50"), "EUR")
    assert _imports(path) == [("1", "2026-03-02", "-4.50")]


# --- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", "1234.56"),
        ("-1,234.56", "-1234.56"),
        ("1.234,56", "1234.56"),
        ("-12,5", "-12.5"),
        ("(12.50)", "-12.50"),
        ("12.50-", "-12.50"),
        ("€ 1.234,56", "1234.56"),
        ("$1,000,000.00", "1000000.00"),
        ("EUR -42.50", "-42.50"),
        ("42.50 USD", "42.50"),
        ("+7", "7"),
        ("0.0001", "0.0001"),
        ("1 234,56", "1234.56"),
        ("1'234.50", "1234.50"),
        ("\u22125.00", "-5.00"),
        ("-0.00", "0.00"),
    ],
)
def test_amounts_are_read_exactly(text: str, expected: str) -> None:
    value = parse_amount(text)
    assert value == Decimal(expected) and str(value) == expected


@pytest.mark.parametrize(
    "text",
    ["", "abc", "12.3.4x", "1,2,3", "--5", "(12.50", "1e5", "12 EUR 5", "1/2", "NaN", "1.23.4"],
)
def test_anything_else_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


def test_an_amount_too_large_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_amount("1" + "0" * 30)


def test_the_column_decides_the_decimal_mark() -> None:
    assert decimal_mark(["1.234", "12,50", "7,00"]) == ","
    assert decimal_mark(["1,234", "12.50"]) == "."
    assert decimal_mark(["1,234"]) == "."  # no evidence: a thousands comma
    # Two thousands points can only be a decimal-comma file's number (and the mirror case).
    assert decimal_mark(["1.234.567", "2.000"]) == ","
    assert decimal_mark(["1,234,567", "2,000"]) == "."
    assert parse_amount("1.234", ",") == Decimal(1234)
    assert parse_amount("1.234", ".") == Decimal("1.234")
    assert parse_amount_text("1.234.567", ",") == "1234567"
    assert parse_amount("12,34,567.00", ".") == Decimal("1234567.00")  # Indian lakh grouping
    with pytest.raises(ValueError, match="decimal comma, but the column's other amounts"):
        parse_amount("12,50", ".")


def test_a_lone_thousands_group_is_read_by_the_currency_it_is_in() -> None:
    """No bank writes 1.234 EUR or 1.234 JPY: with nothing else in the column, "1.234" was read
    as a decimal point and landed 1,000 times too small. In a currency of three decimals both
    readings are money, and the column is refused rather than guessed."""
    assert decimal_mark(["1.234", "-2.500", "17"]) == ","  # thousands points
    assert decimal_mark(["1.234", "17"], ["JPY", "JPY"]) == ","
    assert decimal_mark(["1,234", "17"], ["EUR", "EUR"]) == "."  # thousands commas
    with pytest.raises(AmbiguousDecimal, match=r'"1,234" could be 1234 or 1\.234 KWD'):
        decimal_mark(["17", "1,234"], ["KWD", "KWD"])
    with pytest.raises(AmbiguousDecimal, match=r"1234 or 1\.234 BHD"):
        decimal_mark(["1.234"], ["BHD"])
    with pytest.raises(AmbiguousDecimal, match="both marks"):
        decimal_mark(["1.234", "5,678"])
    # Anything in the column that shows its mark settles it, in any currency.
    assert decimal_mark(["1,234", "12.5"], ["KWD", "KWD"]) == "."
    assert decimal_mark(["1.234", "12,5"], ["KWD", "KWD"]) == ","
    assert decimal_mark(["1234", "17"], ["KWD", "KWD"]) == "."  # no separator: nothing to settle
    # After a leading zero the mark is a decimal one: "0.500" is half a unit, not 500.
    assert decimal_mark(["0.500", "-0.250"], ["EUR", "EUR"]) == "."
    assert parse_amount("0.500", decimal_mark(["0.500"], ["KWD"])) == Decimal("0.5")
    # ... and shows the column's mark: "-1.250" beside "0.500" is a dinar and a quarter.
    assert decimal_mark(["0.500", "-1.250"], ["KWD", "KWD"]) == "."
    assert decimal_mark(["0,500", "-1,250"], ["KWD", "KWD"]) == ","
    # Indian lakh grouping: "1,23" in "1,23,456" is no decimal comma (it made "-1,500" INR
    # read as -1.5 beside it).
    column = ["-1,23,456", "12,34,567", "-1,500", "-250"]
    assert decimal_mark(column, ["INR"] * 4) == "."
    assert [parse_amount(a, ".") for a in column] == [-123456, 1234567, -1500, -250]
    # Thousands grouped by a space: the mark after them is the decimal one.
    assert decimal_mark(["12 345,678"]) == ","
    assert decimal_mark(["1\u00a0234.567"], ["KWD"]) == "."


def test_a_lone_thousands_point_imports_and_matches_as_thousands(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text("ID,Date,Amount,Name\n1,2026-03-02,1.234,A\n2,2026-03-03,-5.000,B\n")
    expected = [("1", "2026-03-02", "1234"), ("2", "2026-03-03", "-5000")]
    assert _imports(path) == expected
    assert _matches(path) == expected


def test_a_three_decimal_currency_without_a_shown_mark_is_refused_with_the_fix(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kwd.csv"
    path.write_text('ID,Date,Amount,Currency,Name\n1,2026-03-02,"1,234",KWD,A\n')
    with pytest.raises(ImportFileError, match=r'could be 1234 or 1\.234 KWD.*"decimal": ","'):
        read_import_file(path, "acme")
    with pytest.raises(InputError, match=r'column "Amount": .*1\.234 KWD.*--right-map'):
        read_sides(path, None, default_currency=None)
    mapping = tmp_path / "kwd.csv.mapping.json"
    mapping.write_text('{"decimal": ","}')
    parsed = read_import_file(path, "acme", mapping=load_mapping(path))
    assert [(r.amount, r.currency) for r in parsed.rows] == [("1.234", "KWD")]
    sides = read_sides(path, ColumnMap({}, {"decimal": ","}), default_currency=None)
    assert [(s.amount, s.currency) for s in sides] == [(Decimal("1.234"), "KWD")]


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-04", "2026-03-04"),
        ("2026-03-04T10:22:00Z", "2026-03-04"),
        ("2026/3/4", "2026-03-04"),
        ("20260304", "2026-03-04"),
        ("04.03.2026", "2026-03-04"),
        ("04.03.26", "2026-03-04"),
        ("4 Mar 2026", "2026-03-04"),
        ("Mar 4, 2026", "2026-03-04"),
        ("31.02.2026", None),
        ("1826-03-04", None),  # out of any export's range: a typo, not a date to guess
        ("soon", None),
    ],
)
def test_formats_that_read_one_way_only(text: str, expected: str | None) -> None:
    assert parse_date_auto(text, "dmy") == parse_date_auto(text, "mdy") == expected


def test_the_column_settles_day_month_order() -> None:
    assert numeric_date_order(["04/03/2026", "13/03/2026"]) == "dmy"
    assert numeric_date_order(["04/03/2026", "03/13/2026"]) == "mdy"
    assert numeric_date_order(["05/05/2026", "11/11/2026"]) == "dmy"  # reads the same both ways
    assert numeric_date_order(["2026-03-04", "soon"]) == "dmy"
    assert parse_date_auto("04/03/2026", "dmy") == "2026-03-04"
    assert parse_date_auto("04/03/2026", "mdy") == "2026-04-03"


def test_ambiguous_dates_are_refused_with_both_formats() -> None:
    with pytest.raises(AmbiguousDates, match='"04-03-26" could be day/month.*YYYY-MM-DD') as error:
        numeric_date_order(["04-03-26", "01-02-26"])
    assert (error.value.day_first, error.value.month_first) == ("%d-%m-%y", "%m-%d-%y")


def test_a_given_date_format_is_the_only_one_read() -> None:
    reader = DateReader("%m/%d/%Y", "dmy")
    assert reader("03/04/2026") == "2026-03-04"
    assert reader("2026-03-04") is None
    assert reader.reason("2026-03-04") == "bad date '2026-03-04' (expected format '%m/%d/%Y')"


# --- decoding and delimiters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\xef\xbb\xbfDate,Amount\n", "Date,Amount\n"),
        ("Date;Betrag\n".encode("utf-16"), "Date;Betrag\n"),
        ("Empfänger\n".encode("cp1252"), "Empfänger\n"),
    ],
)
def test_encodings_exports_use_are_decoded(data: bytes, text: str) -> None:
    assert decode_bank_text(data) == text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04rest", "Excel workbook"),
        (b"\xd0\xcf\x11\xe0rest", "old Excel workbook"),
        (b"Date\x00,Amount", "binary data"),
    ],
)
def test_files_that_are_not_text_are_refused_with_the_fix(data: bytes, message: str) -> None:
    with pytest.raises(TabularError, match=message):
        decode_bank_text(data)


def test_one_bad_byte_in_a_utf8_file_marks_its_row_instead_of_recoding_the_file() -> None:
    text = decode_bank_text("Müller\n".encode() + b"bad \xff\n" + "Bäcker\n".encode())
    first, second, third = text.splitlines()
    assert (first, third) == ("Müller", "Bäcker")
    assert bad_bytes_reason([second]) is not None and "0xFF" in bad_bytes_reason([second])
    assert bad_bytes_reason([first, third]) is None


def test_the_header_settles_the_delimiter_despite_a_stray_quote() -> None:
    text = "Date;Amount;Memo\n2026-03-02;-1,00;\"Joe's Diner Berlin\n2026-03-03;-2,00;x\n"
    assert sniff_delimiter(text, lambda cells: cells[:2] == ["Date", "Amount"]) == ";"
    assert sniff_delimiter("a|b|c\n1|2|3\n") == "|"


# --- the same file imports and matches -----------------------------------------------------------


def _imports(path: Path) -> list[tuple[str, str, str]]:
    parsed = read_import_file(path, "acme", default_currency="EUR")
    assert parsed.rejected == []
    return [(r.external_id, r.booking_date, r.amount) for r in parsed.rows]


def _matches(path: Path) -> list[tuple[str, str, str]]:
    sides = read_sides(path, None, default_currency="EUR")
    return [(s.id, s.date.isoformat(), format(s.amount, "f")) for s in sides]


def test_dates_any_unambiguous_format_import_and_match_alike(tmp_path: Path) -> None:
    """A column mixing ISO, dotted, two-digit-year and named-month dates imported but did not
    match: the matcher read one format per column and refused the rest."""
    path = tmp_path / "bank.csv"
    path.write_text(
        "ID,Date,Amount,Name\n"
        "1,2026-03-02,10.00,A\n"
        "2,05.03.2026,11.00,B\n"
        "3,06.03.26,12.00,C\n"
        "4,7 Mar 2026,13.00,D\n"
        "5,2026/03/08,14.00,E\n",
        encoding="utf-8",
    )
    expected = [
        ("1", "2026-03-02", "10.00"),
        ("2", "2026-03-05", "11.00"),
        ("3", "2026-03-06", "12.00"),
        ("4", "2026-03-07", "13.00"),
        ("5", "2026-03-08", "14.00"),
    ]
    assert _imports(path) == expected
    assert _matches(path) == expected


def test_thousands_points_settle_a_decimal_comma_for_import_and_match(tmp_path: Path) -> None:
    """Amounts such as "1.234.567" matched (read as a decimal-comma column) but were rejected by
    the import, which took the column for decimal points."""
    path = tmp_path / "ledger.csv"
    path.write_text(
        "ID;Date;Amount;Name\n1;2026-03-02;1.234.567;A\n2;2026-03-03;2.000;B\n", encoding="utf-8"
    )
    expected = [("1", "2026-03-02", "1234567"), ("2", "2026-03-03", "2000")]
    assert _imports(path) == expected
    assert _matches(path) == expected


def test_an_imports_mapping_file_is_a_column_map_for_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The mapping that imports a file (decimal comma, day-first dates) lets it match too."""
    bank = tmp_path / "bank.csv"
    bank.write_text(
        "Nr;Buchungstag;Betrag;Empfänger\nB-1;03.04.2026;-1.250,00;Hetzner\n", encoding="utf-8"
    )
    mapping = tmp_path / "bank.csv.mapping.json"
    mapping.write_text(
        '{"columns": {"date": "Buchungstag", "amount": "Betrag"}, "decimal": ",", '
        '"date_format": "%d.%m.%Y", "default_currency": "EUR"}',
        encoding="utf-8",
    )
    parsed = read_import_file(bank, "acme", mapping=load_mapping(bank))
    assert [(r.booking_date, r.amount, r.currency) for r in parsed.rows] == [
        ("2026-04-03", "-1250.00", "EUR")
    ]
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("id,date,amount,name,currency\nINV-1,2026-04-03,1250.00,Hetzner,EUR\n")
    code = main(
        [
            "match",
            "--left",
            str(ledger),
            "--right",
            str(bank),
            "--right-map",
            json.dumps(
                {
                    "columns": {
                        "id": "Nr",
                        "date": "Buchungstag",
                        "amount": "Betrag",
                        "name": "Empfänger",
                    },
                    "decimal": ",",
                    "date_format": "%d.%m.%Y",
                }
            ),
            "--currency",
            "EUR",
            "--out",
            str(tmp_path / "pairs.csv"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    pairs = (tmp_path / "pairs.csv").read_text(encoding="utf-8-sig").splitlines()
    assert pairs[1].startswith("INV-1,B-1,auto,")


def test_match_reads_a_mapping_file_by_its_path(tmp_path: Path) -> None:
    bank = tmp_path / "bank.csv"
    bank.write_text("Nr;Tag;Betrag;Wer\nB-1;2026-04-03;12,50;X\n", encoding="utf-8")
    mapping = tmp_path / "map.json"
    mapping.write_text(
        '{"columns": {"id": "Nr", "date": "Tag", "amount": "Betrag", "name": "Wer"}, '
        '"default_currency": "CHF"}',
        encoding="utf-8",
    )
    from bg_agents.defs.reconciliation.matcher.exports import parse_column_map as match_map

    (side,) = read_sides(bank, match_map(str(mapping)), default_currency=None)
    assert (side.id, side.amount, side.currency) == ("B-1", Decimal("12.50"), "CHF")
    assert side.date == date(2026, 4, 3)


def test_one_list_of_suffixes_for_import_and_match(tmp_path: Path) -> None:
    """A .tsv or .parquet export matched but the import refused it as an unsupported type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tsv = tmp_path / "bank.tsv"
    tsv.write_text("ID\tDate\tAmount\tName\n1\t2026-03-02\t-4.50\tCafe\n", encoding="utf-8")
    parquet = tmp_path / "bank.parquet"
    pq.write_table(
        pa.table(
            {
                "ID": pa.array(["1"]),
                "Date": pa.array([date(2026, 3, 2)], pa.date32()),
                "Amount": pa.array([Decimal("-4.50")], pa.decimal128(18, 2)),
                "Name": pa.array(["Cafe"]),
            }
        ),
        parquet,
    )
    for path in (tsv, parquet):
        assert _imports(path) == [("1", "2026-03-02", "-4.50")]
        assert _matches(path) == [("1", "2026-03-02", "-4.50")]
    assert read_import_file(parquet, "acme", default_currency="EUR").file_format == "parquet"
    assert TABULAR_SUFFIXES <= SUPPORTED_SUFFIXES and TABULAR_SUFFIXES == READ_SUFFIXES


def test_a_parquet_import_gets_the_ids_of_the_same_rows_in_csv(tmp_path: Path) -> None:
    """Rows without a bank id get derived ids; the same data in either format is the same rows,
    so switching the export format does not duplicate transactions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_path = tmp_path / "bank.csv"
    csv_path.write_text('Date,Amount,Memo\n2026-03-02,-4.50,"Cafe, large"\n', encoding="utf-8")
    parquet = tmp_path / "bank.parquet"
    pq.write_table(
        pa.table({"Date": ["2026-03-02"], "Amount": ["-4.50"], "Memo": ["Cafe, large"]}), parquet
    )
    assert _imports(parquet) == _imports(csv_path)


def test_a_broken_parquet_import_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bank.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(TabularError, match="not a readable Parquet file"):
        read_import_file(path, "acme", default_currency="EUR")


def test_a_stray_quote_is_one_bad_line_for_import_and_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The import quarantines the line with the stray quote and reads the rest; match, which
    refuses a file with any bad row, names that line alone instead of misreading the file."""
    path = tmp_path / "bank.csv"
    path.write_text(
        "ID,Date,Amount,Name\n"
        "1,2026-03-02,-4.50,\"Joe's Diner\n"
        "2,2026-03-03,-5.00,Cafe\n"
        '3,2026-03-04,-6.00,"Memo with\na line break"\n'
        "4,2026-03-05,-7.00,Shop\n",
        encoding="utf-8",
    )
    parsed = read_import_file(path, "acme", default_currency="EUR")
    assert [r.external_id for r in parsed.rows] == ["2", "3", "4"]
    assert [r["raw"]["line"] for r in parsed.rejected] == [2]
    with pytest.raises(InputError) as error:
        read_sides(path, None, default_currency="EUR")
    message = str(error.value)
    assert "bank.csv: 1 of 4 rows cannot be read:\n  line 2: a quote opened on line 2" in message

    path.write_text(path.read_text().replace("\"Joe's Diner", "Joe's Diner"))
    sides = read_sides(path, None, default_currency="EUR")
    assert [(s.id, s.name) for s in sides][2:] == [("3", "Memo with\na line break"), ("4", "Shop")]


def test_a_bad_byte_is_one_bad_row_for_import_and_match(tmp_path: Path) -> None:
    """Match decoded a UTF-8 file with one bad byte as Windows-1252, so every accented name in
    it became mojibake ("MÃ¼ller") and matched worse; the import kept the names and set the one
    row aside. Match now names that row, as it does every row it cannot read."""
    path = tmp_path / "bank.csv"
    path.write_bytes(
        "ID,Date,Amount,Name\n1,2026-03-02,-4.50,Müller\n".encode()
        + b"2,2026-03-03,-5.00,Caf\xe9\n"
    )
    parsed = read_import_file(path, "acme", default_currency="EUR")
    assert [r.counterparty for r in parsed.rows] == ["Müller"]
    assert [r["row_ref"] for r in parsed.rejected] == ["2"]
    with pytest.raises(
        InputError, match=r"1 of 2 rows cannot be read:\n  line 3: invalid UTF-8 byte"
    ):
        read_sides(path, None, default_currency="EUR")
