"""Bank export files (CSV, OFX/QFX) become RawTransaction rows, or a reason the user can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bg_agents.defs.ingestion import files
from bg_agents.defs.ingestion.files import ParsedFile, read_import_file
from bg_agents.defs.ingestion.formats import (
    ColumnMapping,
    ImportFileError,
    load_mapping,
)
from bg_agents.defs.ingestion.normalize import TeamRef, normalize

DATA = Path(__file__).parent / "data" / "imports"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def read(path: Path, **kwargs: object) -> ParsedFile:
    kwargs.setdefault("default_currency", "USD")
    return read_import_file(path, "acme", **kwargs)  # type: ignore[arg-type]


def fields(parsed: ParsedFile, *names: str) -> list[tuple[object, ...]]:
    return [tuple(getattr(row, n) for n in names) for row in parsed.rows]


# --- CSV ----------------------------------------------------------------------------------------


def test_clean_csv_becomes_rows_that_pass_normalization() -> None:
    parsed = read(DATA / "clean.csv")
    assert parsed.file_format == "csv" and len(parsed.sha256) == 64 and parsed.rejected == []
    first = parsed.rows[0]
    assert (first.source, first.batch_ref, first.row_ref, first.team_ref) == (
        "csv",
        parsed.sha256,
        "1",
        "acme",
    )
    assert fields(parsed, "external_id", "booking_date", "amount", "currency") == [
        ("TX-1001", "2026-03-02", "-4.50", "USD"),
        ("TX-1002", "2026-03-02", "1250.00", "USD"),
        ("TX-1003", "2026-03-03", "-312.17", "USD"),
        ("TX-1004", "2026-03-05", "-980.00", "EUR"),
    ]
    assert (first.description, first.counterparty, first.category) == (
        "Coffee, large",
        "Blue Bottle",
        "Meals",
    )
    out = normalize(parsed.rows, {"acme": TeamRef(id=1, base_currency="USD")})
    assert out.quarantined == [] and len(out.transactions) == 4


def test_european_csv_with_sidecar_mapping_reads_decimal_comma_and_day_first_dates() -> None:
    path = DATA / "european.csv"
    mapping = load_mapping(path)
    assert mapping == ColumnMapping(
        date="Buchungstag",
        amount="Umsatz in EUR",
        description="Verwendungszweck",
        counterparty="Empfänger",
        date_format="%d.%m.%Y",
        decimal=",",
        default_currency="EUR",
    )
    parsed = read(path, mapping=mapping, default_currency="USD")
    assert parsed.rejected == []
    assert fields(parsed, "booking_date", "amount", "currency", "counterparty") == [
        ("2026-04-03", "-1234.56", "EUR", "Stadtwerke München"),
        ("2026-04-07", "2500.00", "EUR", "Kunde AG"),
        ("2026-04-15", "-19.99", "EUR", "Café Rösterei"),
    ]


def test_team_folder_mapping_applies_when_the_file_has_none(tmp_path: Path) -> None:
    path = write(tmp_path, "export.csv", "Datum;Wert\n01.02.2026;-5,00\n")
    (tmp_path / "mapping.json").write_text(json.dumps({"columns": {"amount": "Wert"}}))
    mapping = load_mapping(path)
    assert mapping is not None and mapping.amount == "Wert" and mapping.date is None
    # Unmapped fields are still recognized ("Datum"); a mapping without "decimal" leaves the
    # mark to the file's amounts, as if there were no mapping.
    parsed = read(path, mapping=mapping)
    assert fields(parsed, "booking_date", "amount") == [("2026-02-01", "-5.00")]


def test_a_mapping_that_names_the_wrong_decimal_mark_rejects_rows_with_the_fix(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "export.csv", "Datum;Wert\n01.02.2026;-5,00\n")
    (tmp_path / "mapping.json").write_text(
        json.dumps({"columns": {"amount": "Wert"}, "decimal": "."})
    )
    parsed = read(path, mapping=load_mapping(path))
    assert parsed.rows == []
    assert parsed.rejected[0]["reason"] == (
        'bad amount \'-5,00\' (it looks like a decimal comma: set "decimal": "," in the mapping)'
    )


def test_semicolon_file_without_mapping_guesses_decimal_comma_and_skips_preamble(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "konto.csv",
        "Konto;DE89 3704 0044 0532 0130 00\nZeitraum;01.03.2026 - 31.03.2026\n\n"
        "Buchungstag;Verwendungszweck;Betrag;Währung\n"
        "02.03.2026;Miete März;-1.450,00;EUR\n05.03.2026;Erstattung;12,5;EUR\n",
    )
    parsed = read(path)
    assert fields(parsed, "row_ref", "booking_date", "amount", "description") == [
        ("1", "2026-03-02", "-1450.00", "Miete März"),
        ("2", "2026-03-05", "12.5", "Erstattung"),
    ]


def test_tab_separated_txt_is_read_as_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "export.TXT", "Posted\tDetails\tAmount\n2026-01-02\tRent, Jan\t-900\n")
    assert fields(read(path), "booking_date", "description", "amount") == [
        ("2026-01-02", "Rent, Jan", "-900")
    ]


def test_debit_and_credit_columns_combine_into_one_signed_amount(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "card.csv",
        "Date,Description,Withdrawal,Deposit\n"
        "2026-02-01,Rent,1200.00,\n"
        "2026-02-02,Salary,,3500.00\n"
        "2026-02-03,Refund,-0.00,7.25\n"
        "2026-02-04,Odd,10.00,5.00\n"
        "2026-02-05,Nothing,,\n",
    )
    parsed = read(path)
    assert fields(parsed, "description", "amount") == [
        ("Rent", "-1200.00"),
        ("Salary", "3500.00"),
        ("Refund", "7.25"),
    ]
    assert [r["reason"] for r in parsed.rejected] == [
        "both debit '10.00' and credit '5.00' are set",
        "missing amount (debit and credit are both empty)",
    ]


@pytest.mark.parametrize(
    ("cell", "decimal", "expected"),
    [
        ("(1,234.56)", ".", "-1234.56"),
        ("$1,234.56", ".", "1234.56"),
        ("-$12.00", ".", "-12.00"),
        ("+7.10", ".", "7.10"),
        ("12.00 USD", ".", "12.00"),
        ("1.234,56 €", ",", "1234.56"),
        ("12,50-", ",", "-12.50"),
        ("1 234,56", ",", "1234.56"),
        ("CHF 1'234.00", ".", "1234.00"),
    ],
)
def test_amount_formats_banks_use(tmp_path: Path, cell: str, decimal: str, expected: str) -> None:
    path = write(tmp_path, "a.csv", f'Date;Amount\n2026-01-02;"{cell}"\n')
    parsed = read(path, mapping=ColumnMapping(decimal=decimal))
    assert [r.amount for r in parsed.rows] == [expected]


def test_utf8_bom_does_not_hide_the_first_header(tmp_path: Path) -> None:
    path = write(
        tmp_path, "bom.csv", b"\xef\xbb\xbfDate,Amount,Memo\r\n2026-01-02,-3.20,Caf\xc3\xa9\r\n"
    )
    assert fields(read(path), "booking_date", "amount", "description") == [
        ("2026-01-02", "-3.20", "Café")
    ]


def test_legacy_cp1252_export_is_decoded(tmp_path: Path) -> None:
    content = "Date;Amount;Payee\n2026-01-02;-9,99;Müller – Bäckerei €\n".encode("cp1252")
    path = write(tmp_path, "legacy.csv", content)
    assert [r.counterparty for r in read(path).rows] == ["Müller – Bäckerei €"]


def test_malformed_rows_are_rejected_with_reasons_and_good_rows_come_through(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "mixed.csv",
        "Date,Description,Amount\n"
        "2026-01-02,Good one,-1.00\n"
        "2026-02-30,Bad date,-2.00\n"
        "2026-01-03,Bad amount,12abc\n"
        "\n"
        "2026-01-04,Too few\n"
        ",continued description,\n"
        "soon,,\n"
        "2026-01-05,Good two,3.00\n",
    )
    parsed = read(path)
    assert fields(parsed, "row_ref", "description") == [("1", "Good one"), ("8", "Good two")]
    assert [(r["row_ref"], r["reason"]) for r in parsed.rejected] == [
        ("2", "bad date '2026-02-30'"),
        ("3", "bad amount '12abc'"),
        ("5", "row has 2 cells but the header has 3"),
        ("6", "no date and no amount in this row"),
        ("7", "bad date 'soon'; missing amount"),
    ]
    assert parsed.rejected[0]["raw"] == {
        "Date": "2026-02-30",
        "Description": "Bad date",
        "Amount": "-2.00",
    }


def test_date_format_from_the_mapping_is_enforced_per_row(tmp_path: Path) -> None:
    path = write(tmp_path, "us.csv", "Date,Amount\n03/04/2026,1.00\n2026-03-05,2.00\n")
    parsed = read(path, mapping=ColumnMapping(date_format="%m/%d/%Y"))
    assert fields(parsed, "booking_date") == [("2026-03-04",)]
    assert parsed.rejected[0]["reason"] == "bad date '2026-03-05' (expected format '%m/%d/%Y')"


def test_ambiguous_dates_without_a_format_are_refused_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "amb.csv", "Date,Amount\n03/04/2026,1.00\n04/03/2026,2.00\n")
    with pytest.raises(ImportFileError, match=r'"03/04/2026".*"date_format": "%d/%m/%Y"'):
        read(path)


def test_one_unambiguous_date_settles_the_order_for_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dmy.csv", "Date,Amount\n03/04/2026,1.00\n25/04/2026,2.00\n")
    assert fields(read(path), "booking_date") == [("2026-04-03",), ("2026-04-25",)]


def test_missing_required_column_names_the_headers_found_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "When,Text,Value\n2026-01-02,Coffee,-3\n")
    with pytest.raises(ImportFileError) as exc:
        read(path)
    message = str(exc.value)
    assert 'Headers found: "When", "Text", "Value"' in message
    assert "date and amount (or debit and credit) column(s)" in message
    assert "mapping.json" in message and "date=<date header>,amount=<amount header>" in message
    assert "--map" not in message  # no command has such an option


def test_mapped_header_that_is_absent_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "Date,Value\n2026-01-02,-3\n")
    with pytest.raises(
        ImportFileError, match='"Betrag" for amount.*Headers found: "Date", "Value"'
    ):
        read(path, mapping=ColumnMapping(amount="Betrag"))


def test_derived_ids_are_stable_across_reads_and_overlapping_exports(tmp_path: Path) -> None:
    header = "Date,Description,Amount\n"
    coffee = "2026-01-01,Coffee,-4.50\n"
    first = write(tmp_path, "jan1-2.csv", header + coffee + coffee + "2026-01-02,Lunch,-12.00\n")
    # A later export overlapping the first, in another order and with an extra day.
    second = write(
        tmp_path,
        "jan1-3.csv",
        header + "2026-01-03,Taxi,-20.00\n2026-01-02,Lunch,-12.00\n" + coffee + coffee,
    )
    ids = [r.external_id for r in read(first).rows]
    assert ids == [r.external_id for r in read(first).rows]
    assert len(set(ids)) == 3, "two identical same-day rows stay two rows"
    assert set(ids) < {r.external_id for r in read(second).rows}
    assert all(len(i) <= 128 for i in ids)
    # The same amount written two ways is still the same content, so the rows get two ids.
    reformatted = write(tmp_path, "fmt.csv", header + coffee + "2026-01-01,Coffee,-4.5\n")
    assert len({r.external_id for r in read(reformatted).rows}) == 2


def test_trailing_delimiter_on_the_header_line_only_is_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "Date,Amount,\n2026-01-02,-3.00\n2026-01-03,-4.00,\n")
    assert fields(read(path), "amount") == [("-3.00",), ("-4.00",)]


# --- OFX ----------------------------------------------------------------------------------------


def test_ofx1_sgml_qfx_statement() -> None:
    parsed = read(DATA / "checking_v1.qfx", default_currency=None)
    assert parsed.file_format == "ofx" and parsed.rejected == []
    assert fields(parsed, "row_ref", "external_id", "booking_date", "amount", "currency") == [
        ("202601050001", "000123456789:202601050001", "2026-01-05", "-42.17", "USD"),
        ("202601120002", "000123456789:202601120002", "2026-01-12", "-1500.00", "USD"),
        # 20:00 EST is the next day in UTC; the bank's own date is kept.
        ("202601150003", "000123456789:202601150003", "2026-01-15", "5230.00", "USD"),
        ("202601310004", "000123456789:202601310004", "2026-01-31", "-12.00", "USD"),
    ]
    first, check = parsed.rows[0], parsed.rows[1]
    assert first.source == "ofx" and first.batch_ref == parsed.sha256
    assert first.description == "CAFÉ DE FLORE & CO - POS PURCHASE 1234"
    assert check.reference == "1043"


def test_ofx1_declaring_utf8_but_written_in_cp1252_is_still_read(tmp_path: Path) -> None:
    content = (DATA / "checking_v1.qfx").read_bytes().replace(b"CHARSET:1252", b"CHARSET:NONE")
    parsed = read(write(tmp_path, "legacy.qfx", content))
    assert parsed.rows[0].counterparty == "CAFÉ DE FLORE & CO"


def test_ofx2_xml_card_statement_with_foreign_currency_and_loose_element_order() -> None:
    parsed = read(DATA / "card_v2.ofx")
    assert parsed.rejected == []
    assert fields(parsed, "external_id", "booking_date", "amount", "currency", "reference") == [
        ("4111XXXXXXXX1111:CC-88001", "2026-02-03", "-89.90", "EUR", None),
        ("4111XXXXXXXX1111:CC-88002", "2026-02-10", "-120.00", "USD", "7781-22"),
        ("4111XXXXXXXX1111:CC-88003", "2026-02-14", "25.00", "EUR", None),
    ]
    assert parsed.rows[2].description == "Zalando SE - Refund order 5512"


def test_ofx_extension_wins_and_bom_and_later_versions_are_accepted(tmp_path: Path) -> None:
    content = (DATA / "card_v2.ofx").read_bytes().replace(b'VERSION="220"', b'VERSION="230"')
    path = write(tmp_path, "card.OFX", b"\xef\xbb\xbf" + content)
    assert len(read(path).rows) == 3


def test_bad_ofx_transaction_is_rejected_and_the_rest_kept(tmp_path: Path) -> None:
    content = (DATA / "card_v2.ofx").read_bytes()
    path = write(tmp_path, "card.ofx", content.replace(b"<TRNAMT>-120.00", b"<TRNAMT>-1,20.0.0"))
    parsed = read(path)
    assert [r.row_ref for r in parsed.rows] == ["CC-88001", "CC-88003"]
    (bad,) = parsed.rejected
    assert (bad["row_ref"], bad["reason"]) == ("CC-88002", "bad amount '-1,20.0.0'")
    assert bad["raw"]["CURRENCY/CURSYM"] == "USD"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"OFXHEADER:100\nthis is not ofx</OFX>", "not a readable OFX/QFX file"),
        (
            (DATA / "checking_v1.qfx").read_bytes()[:900],
            "incomplete (no closing </OFX> tag)",
        ),
        (
            b"OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
            b"CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n"
            b"<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>15500<SEVERITY>ERROR"
            b"<MESSAGE>Signon invalid</STATUS></SONRS></SIGNONMSGSRSV1></OFX>",
            "no bank, credit card or investment statement (the bank reported code 15500: "
            "Signon invalid)",
        ),
    ],
)
def test_malformed_ofx_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read(write(tmp_path, "bad.ofx", content))


# --- file-level problems and mapping specs ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("statement.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
        ("statement.pdf", b"%PDF", "unsupported file type '.pdf'"),
        ("empty.csv", b"\xef\xbb\xbf \r\n", "the file is empty"),
        ("book.csv", b"PK\x03\x04rest", "Excel workbook"),
        ("bin.csv", b"Date,Amount\n\x00\x01", "binary data"),
        ("nohead.csv", b"2026-01-02,-3.00,Coffee\n", "no header row"),
    ],
)
def test_unusable_files_raise_a_reason_the_user_can_act_on(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        read(write(tmp_path, name, content))


def test_a_quote_never_closed_is_a_quarantined_line_not_a_failed_file(tmp_path: Path) -> None:
    """An open quote used to sink the file (or swallow the rest of it into one value); now only
    its line is quarantined and every other line is still read as a row."""
    content = b'Date,Amount\n2026-01-02,"-3\n' + b"x" * 140_000 + b"\n2026-01-03,-4\n"
    parsed = read(write(tmp_path, "quote.csv", content))
    assert [r.amount for r in parsed.rows] == ["-4"]
    assert "never closed" in parsed.rejected[0]["reason"]
    assert parsed.rows_total == len(parsed.rows) + len(parsed.rejected) == 3


def test_csv_without_currency_column_or_default_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "nocur.csv", "Date,Amount\n2026-01-02,-3\n")
    with pytest.raises(ImportFileError, match='no currency column.*"default_currency": "EUR"'):
        read_import_file(path, "acme")


def test_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 2**20)
    path = write(tmp_path, "big.csv", "Date,Amount\n" + "2026-01-02,1\n" * 200_000)
    with pytest.raises(ImportFileError, match=r"the file is 2\.5 MB, over the 1 MB limit"):
        read(path)


def test_a_broken_team_mapping_does_not_block_ofx_files(tmp_path: Path) -> None:
    path = write(tmp_path, "card.ofx", (DATA / "card_v2.ofx").read_bytes())
    write(tmp_path, "mapping.json", "{broken")
    assert load_mapping(path) is None
    with pytest.raises(ImportFileError, match="mapping file mapping.json: invalid JSON"):
        load_mapping(write(tmp_path, "export.csv", "Date,Amount\n"))


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"columns": {"date": "D"}, "date_fromat": "%d"}', "unknown key.*date_fromat"),
        ('{"date_format": "DD.MM.YYYY"}', "strptime format such as"),
        ('{"decimal": ";"}', "decimal must be"),
    ],
)
def test_broken_mapping_file_is_named_in_the_error(
    tmp_path: Path, mapping: str, message: str
) -> None:
    path = write(tmp_path, "x.csv", "Date,Amount\n2026-01-02,1\n")
    write(tmp_path, "x.csv.mapping.json", mapping)
    with pytest.raises(ImportFileError, match=f"mapping file x.csv.mapping.json: .*{message}"):
        load_mapping(path)


def test_a_100k_row_export_parses_whole_with_distinct_ids(tmp_path: Path) -> None:
    lines = ["Date,Description,Payee,Amount,Currency"]
    lines += [
        f"2026-{1 + i % 12:02d}-{1 + i % 28:02d},Card payment {i % 500},Shop {i % 97},"
        f"-{i % 1000}.{i % 100:02d},EUR"
        for i in range(100_000)
    ]
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    parsed = read(path)
    assert len(parsed.rows) == 100_000 and parsed.rejected == []
    assert len({r.external_id for r in parsed.rows}) == 100_000


def test_a_bad_byte_in_an_ofx_2_statement_rejects_only_its_transaction(tmp_path: Path) -> None:
    """An XML statement is UTF-8; one invalid byte used to refuse the whole file."""
    clean = (DATA / "card_v2.ofx").read_bytes()
    damaged = clean.replace(b"<NAME>GitHub", b"<NAME>Git\xffHub", 1)
    assert damaged != clean
    good = read(write(tmp_path, "clean.ofx", clean))
    parsed = read(write(tmp_path, "damaged.ofx", damaged))
    (bad,) = parsed.rejected
    assert "0xFF" in bad["reason"] and "GitHub" not in {r.counterparty for r in parsed.rows}
    assert [(r.external_id, r.description) for r in good.rows if r.row_ref != bad["row_ref"]] == [
        (r.external_id, r.description) for r in parsed.rows
    ]


def test_a_text_column_is_the_description(tmp_path: Path) -> None:
    """Swiss and Nordic banks head the booking text "Text" ("Tekst"): the rows landed with
    empty descriptions and nothing said so."""
    path = write(
        tmp_path, "x.csv", "Datum;Text;Betrag;Währung\n02.01.2026;Migros Zürich;-3,50;CHF\n"
    )
    (row,) = read(path).rows
    assert (row.description, row.amount, row.currency) == ("Migros Zürich", "-3.50", "CHF")
