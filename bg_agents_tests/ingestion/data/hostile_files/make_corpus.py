"""Write the hostile bank files of this folder and ``expected.json`` (what each must become).

After changing a case, run
``.venv/bin/python bg_agents_tests/ingestion/data/hostile_files/make_corpus.py``.
Every file is for a team whose base currency is EUR, read with the clock at 2026-03-20. The
expected counts are the behaviour users rely on: each row lands, is an identical duplicate or is
quarantined with a reason, and the counts add up to the rows the file holds.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

HERE = Path(__file__).parent
HEADER = "Transaction ID,Date,Description,Amount,Currency\n"
CASES: dict[str, tuple[bytes, dict[str, object]]] = {}


def case(name: str, data: bytes | str, **expected: object) -> None:
    CASES[name] = (data.encode("utf-8") if isinstance(data, str) else data, expected)


def rows(n: int, start: int = 1, prefix: str = "TX") -> list[str]:
    return [
        f"{prefix}{i},2026-03-{1 + i % 18:02d},Shop {i},-{i % 90 + 1}.50,EUR"
        for i in range(start, start + n)
    ]


def csv_of(lines: list[str], header: str = HEADER) -> str:
    return header + "\n".join(lines) + "\n"


# 1-2: quotes that swallow the rest of the file.
stray = rows(200)
stray[49] = "TX50,2026-03-02,\"Joe's Diner, Berlin,-4.50,EUR"
case("stray_quote.csv", csv_of(stray), rows=200, landed=199, quarantined=1, reason="quote")
unclosed = rows(20)
unclosed[-1] = 'TX20,2026-03-05,"Never closed,-1.00,EUR'
case("unclosed_quote_last_row.csv", csv_of(unclosed), rows=20, landed=19, quarantined=1)
two = rows(30)
two[4] = 'TX5,2026-03-02,"Opens here,-4.50,EUR'
two[19] = 'TX20,2026-03-02,Closes" here",-4.50,EUR'
case("two_stray_quotes.csv", csv_of(two), rows=30, landed=29, quarantined=1, reason="quote")
# 1b: the same stray quotes in files that are not comma-separated: one reader over the file let
# the quote swallow the lines after it, and the decimal commas ("-1,50") outvoted ";" as the
# delimiter, so the whole file was refused.


def delimited(sep: str, n: int, decimal: str = ",") -> list[str]:
    return [
        sep.join((f"2026-03-{1 + i % 18:02d}", f"-{i % 90 + 1}{decimal}50", f"Shop {i}", f"TX{i}"))
        for i in range(1, n + 1)
    ]


def header_of(sep: str) -> str:
    return sep.join(("Date", "Amount", "Description", "Transaction ID")) + "\n"


semi = delimited(";", 200)
semi[49] = "2026-03-02;-4,50;\"Joe's Diner Berlin;TX50"
case(
    "semicolon_stray_quote.csv",
    csv_of(semi, header_of(";")),
    rows=200,
    landed=199,
    quarantined=1,
    reason="quote",
)
case(
    "semicolon_stray_quote_short.csv",
    "Date;Amount;Description;Transaction ID\n2026-03-18;-1,00;Mueller;QA-P4-1\n"
    "2026-03-18;-2,00;\"Joe's Diner Berlin;QA-P4-2\n2026-03-18;-3,00;Zurich;QA-P4-3\n",
    rows=3,
    landed=2,
    quarantined=1,
    reason="quote",
)
semi_last = delimited(";", 20)
semi_last[-1] = '2026-03-05;-1,00;"Never closed;TX20'
case(
    "semicolon_unclosed_quote_last_row.csv",
    csv_of(semi_last, header_of(";")),
    rows=20,
    landed=19,
    quarantined=1,
)
semi_many = delimited(";", 30)
for at in (4, 5, 17):  # two on consecutive lines pair up unless each is read as its own line
    semi_many[at] = f"2026-03-02;-4,50;\"Joe's Diner Berlin;TX{at + 1}"
case(
    "semicolon_three_stray_quotes.csv",
    csv_of(semi_many, header_of(";")),
    rows=30,
    landed=27,
    quarantined=3,
    reason="quote",
)
tab = delimited("\t", 50)
tab[9] = "2026-03-02\t-4,50\t\"Joe's Diner, Berlin\tTX10"
case(
    "tab_stray_quote.csv",
    csv_of(tab, header_of("\t")),
    rows=50,
    landed=49,
    quarantined=1,
    reason="quote",
)
pipe = delimited("|", 50, ".")
pipe[9] = "2026-03-02|-4.50|\"Joe's Diner; Berlin|TX10"
case(
    "pipe_stray_quote.csv",
    csv_of(pipe, header_of("|")),
    rows=50,
    landed=49,
    quarantined=1,
    reason="quote",
)
# 3-5: bank ids reused, with and without other content.
case(
    "conflicting_bank_id.csv",
    csv_of(["TX1,2026-03-02,Coffee,-20.00,EUR", "TX1,2026-03-02,Coffee,-999.00,EUR"]),
    rows=2,
    landed=1,
    quarantined=1,
    reason="conflicting duplicate of TX1",
)
case(
    "repeated_identical_bank_id.csv",
    csv_of(["TX1,2026-03-02,Coffee,-20.00,EUR", "TX1,2026-03-02,Coffee,-20.00,EUR"]),
    rows=2,
    landed=1,
    duplicates=1,
)


def ofx(transactions: list[tuple[str, str, str]], closed: bool = True) -> str:
    body = "".join(
        f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{day}<TRNAMT>{amount}<FITID>{fitid}<NAME>Shop"
        "</STMTTRN>\n"
        for fitid, day, amount in transactions
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<DTSERVER>20260320<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS>"
        "<CURDEF>EUR<BANKACCTFROM><BANKID>1<ACCTID>DE00123<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
        f"<BANKTRANLIST><DTSTART>20260301<DTEND>20260320\n{body}</BANKTRANLIST>"
        "<LEDGERBAL><BALAMT>0<DTASOF>20260320</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1>"
        + ("</OFX>\n" if closed else "\n")
    )


case(
    "conflicting_fitid.ofx",
    ofx([("F1", "20260302", "-20.00"), ("F1", "20260302", "-999.00"), ("F2", "20260303", "-5")]),
    rows=3,
    landed=2,
    quarantined=1,
    reason="conflicting duplicate",
)
case(
    "ofx_bad_transaction.ofx",
    ofx([("F1", "20260302", "-20.00"), ("F2", "20260302", "lots"), ("F3", "2026XX03", "-5")]),
    rows=3,
    landed=1,
    quarantined=2,
)
case("truncated.ofx", ofx([("F1", "20260302", "-1")], closed=False), status="failed")
utf8_ofx = (
    ofx([("F1", "20260302", "-1"), ("F2", "20260302", "-2"), ("F3", "20260302", "-3")])
    .replace("Shop", "Bäckerei")
    .replace("ENCODING:USASCII\nCHARSET:1252", "ENCODING:UTF-8\nCHARSET:NONE")
    .encode("utf-8")
)
case(
    "ofx_one_bad_byte.ofx",
    utf8_ofx.replace(
        "<TRNAMT>-2<FITID>F2<NAME>Bäckerei".encode(), b"<TRNAMT>-2<FITID>F2<NAME>B\xe4ckerei"
    ),
    rows=3,
    landed=2,
    quarantined=1,
    reason="invalid UTF-8 byte(s) 0xE4",
)
case(
    "ofx_nul_in_name.ofx",
    ofx([("F1", "20260302", "-1"), ("F2", "20260302", "-2")]).replace("Shop", "Sh\x00op", 1),
    rows=2,
    landed=1,
    quarantined=1,
    reason="NUL character",
)
# 6-7: dates out of any partition.
case(
    "far_future_date.csv",
    csv_of(["TX1,2026-03-02,Ok,-1.00,EUR", "TX2,2199-12-31,Future,-1.00,EUR"]),
    rows=2,
    landed=1,
    quarantined=1,
    reason="in the future",
)
case(
    "before_history.csv",
    csv_of(["TX1,2026-03-02,Ok,-1.00,EUR", "TX2,1999-01-04,Old,-1.00,EUR"]),
    rows=2,
    landed=1,
    quarantined=1,
    reason="before BG_AGENTS_HISTORY_START",
)
# 8-10: encodings.
utf8 = csv_of(
    [",2026-03-02,Bäckerei Müller,-3.20,EUR", ",2026-03-03,Café Crème,-4.10,EUR"]
    + [f",2026-03-04,Straße {i},-{i}.00,EUR" for i in range(1, 6)]
).encode("utf-8")
case("utf8_clean.csv", utf8, rows=7, landed=7)
case(
    "utf8_one_bad_byte.csv",
    utf8.replace(b"Stra\xc3\x9fe 3", b"Stra\xdfe 3"),
    rows=7,
    landed=6,
    quarantined=1,
    reason="invalid UTF-8",
)
case(
    "cp1252_legacy.csv",
    csv_of([",2026-03-05,Bäckerei Süß,-2.00,EUR", ",2026-03-05,Café,-3.00,EUR"]).encode("cp1252"),
    rows=2,
    landed=2,
)
case(
    "utf16_bom.csv",
    codecs.BOM_UTF16_LE + csv_of(["TX1,2026-03-02,Grüße,-1.00,EUR"]).encode("utf-16-le"),
    rows=1,
    landed=1,
)
case(
    "utf8_bom_crlf.csv",
    codecs.BOM_UTF8 + csv_of(rows(3)).replace("\n", "\r\n").encode(),
    rows=3,
    landed=3,
)
case(
    "mixed_line_endings.csv",
    HEADER + "TX1,2026-03-02,A,-1,EUR\rTX2,2026-03-02,B,-2,EUR\r\nTX3,2026-03-02,C,-3,EUR\n",
    rows=3,
    landed=3,
)
# 11-14: amounts.
case(
    "implausible_amounts.csv",
    csv_of([f"TX{i},2026-03-02,Wire,9999999999999.00,EUR" for i in range(1, 101)] + rows(2, 101)),
    rows=102,
    landed=2,
    quarantined=100,
    reason="implausible amount",
)
case(
    "nan_inf_amounts.csv",
    csv_of(
        [
            "TX1,2026-03-02,A,NaN,EUR",
            "TX2,2026-03-02,B,Infinity,EUR",
            "TX3,2026-03-02,C,1e400,EUR",
            "TX4,2026-03-02,D,-0,EUR",
            "TX5,2026-03-02,E,-1.23456,EUR",
        ]
    ),
    rows=5,
    landed=1,
    quarantined=4,
)
case(
    "unknown_currency.csv",
    csv_of(["TX1,2026-03-02,A,-1,ZZZ", "TX2,2026-03-02,B,-1,EUR"]),
    rows=2,
    landed=1,
    quarantined=1,
    reason="unknown currency",
)
case(
    "semicolon_decimal_comma.csv",
    "Buchungstag;Verwendungszweck;Betrag;Währung\n"
    "02.03.2026;Miete;-1.250,00;EUR\n03.03.2026;Gehalt;3.100,50;EUR\n",
    rows=2,
    landed=2,
)
# 15-19: shape of rows.
case(
    "ragged_rows.csv",
    HEADER + "TX1,2026-03-02,Ok,-1,EUR\nTX2,2026-03-02\nTX3,2026-03-02,A,B,-1,EUR\n",
    rows=3,
    landed=1,
    quarantined=2,
    reason="cells",
)
case(
    "blank_lines.csv",
    HEADER + "\n\nTX1,2026-03-02,A,-1,EUR\n   \n,,,,\nTX2,2026-03-02,B,-2,EUR\n\n",
    rows=2,
    landed=2,
)
case(
    "multiline_memo.csv",
    HEADER + 'TX1,2026-03-02,"Rent March\nref 4411",-900.00,EUR\nTX2,2026-03-02,B,-2,EUR\n',
    rows=2,
    landed=2,
)
case(
    "huge_unquoted_field.csv",
    HEADER + "TX1,2026-03-02," + "x" * 140_000 + ",-1,EUR\nTX2,2026-03-02,B,-2,EUR\n",
    rows=2,
    landed=1,
    quarantined=1,
    reason="not valid CSV",
)
case(
    "formula_injection.csv",
    csv_of(
        [
            'TX1,2026-03-02,"=HYPERLINK(""http://x"")",-1,EUR',
            "TX2,2026-03-02,+cmd|' /C calc'!A0,-2,EUR",
        ]
    ),
    rows=2,
    landed=2,
)
case(
    "identical_rows_without_id.csv",
    "Date,Description,Amount,Currency\n2026-03-02,Coffee,-4.50,EUR\n2026-03-02,Coffee,-4.50,EUR\n",
    rows=2,
    landed=2,
)
case("header_only.csv", HEADER, rows=0)
case(
    "missing_date_and_amount.csv",
    csv_of(["TX1,,Nothing,,EUR", "TX2,2026-03-02,B,-2,EUR"]),
    rows=2,
    landed=1,
    quarantined=1,
)
case(
    "header_repeated_mid_file.csv",
    csv_of(["TX1,2026-03-02,A,-1,EUR", HEADER.strip(), "TX2,2026-03-02,B,-2,EUR"]),
    rows=3,
    landed=2,
    quarantined=1,
    reason="bad date 'Date'",
)
case(
    "unicode_line_separator.csv",
    csv_of(["TX1,2026-03-02,Shop\u2028Berlin\u0085Mitte,-1,EUR", "TX2,2026-03-02,B,-2,EUR"]),
    rows=2,
    landed=2,
)
case(
    "long_external_id.csv",
    csv_of(["I" * 200 + ",2026-03-02,A,-1,EUR", "TX2,2026-03-02,B,-2,EUR"]),
    rows=2,
    landed=1,
    quarantined=1,
    reason="over-long external id",
)
case(
    "ofx_far_future.ofx",
    ofx([("F1", "21991231", "-1"), ("F2", "20260302", "-2")]),
    rows=2,
    landed=1,
    quarantined=1,
    reason="in the future",
)
# 20-24: files that cannot be read at all: refused whole, with a report.
case("nul_bytes.csv", b"Date,Amount\n2026-03-02,\x00\x00-1\n", status="failed")
case("empty.csv", b"", status="failed")
case("excel_disguised.csv", b"PK\x03\x04" + b"\x00" * 40, status="failed")
case("no_header.csv", "2026-03-02,-1.00,Coffee\n", status="failed")
case(
    "ambiguous_dates.csv",
    "Date,Amount,Currency\n03/04/2026,-1,EUR\n05/06/2026,-2,EUR\n",
    status="failed",
)
case("x" * 240 + ".csv", csv_of(rows(2)), rows=2, landed=2)


def main() -> None:
    for old in HERE.iterdir():
        if old.suffix in (".csv", ".ofx"):
            old.unlink()
    expected = {}
    for name, (data, outcome) in CASES.items():
        (HERE / name).write_bytes(data)
        expected[name] = {"status": "staged", **outcome}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"{len(CASES)} hostile files")


if __name__ == "__main__":
    main()
