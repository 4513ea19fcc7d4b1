"""SWIFT MT940 statements become rows (or rejected rows with reasons) and a balance check per
statement, through the same dispatcher and import pipeline as every other bank file.

The fixtures in ``data/mt940`` are written by hand from the SWIFT MT940 layout and German bank
practice (``?20``-``?33`` sub-fields, ``SVWZ+``/``EREF+``), one situation each.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.defs.ingestion.files import ParsedFile, read_import_file
from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.mt940_file import looks_like_mt940
from bg_agents.lib.db.models import ImportFile, QuarantinedRow, Team, Transaction

DATA = Path(__file__).parent / "data" / "mt940"


def read(path: Path, default_currency: str | None = "EUR") -> ParsedFile:
    return read_import_file(path, "acme", default_currency=default_currency)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def fields(parsed: ParsedFile, *names: str) -> list[tuple[object, ...]]:
    return [tuple(getattr(row, n) for n in names) for row in parsed.rows]


def accounted(parsed: ParsedFile) -> bool:
    return len(parsed.rows) + len(parsed.rejected) == parsed.rows_total


# --- reading ------------------------------------------------------------------------------------


def test_plain_statement_rows_ids_and_balance() -> None:
    parsed = read(DATA / "plain.sta")
    assert parsed.file_format == "mt940" and parsed.rejected == [] and parsed.rows_total == 3
    assert fields(parsed, "external_id", "booking_date", "amount", "currency") == [
        ("NL91ABNA0417164300:B5020300001", "2025-02-03", "-45.50", "EUR"),
        ("NL91ABNA0417164300:B5020400007", "2025-02-04", "1250.00", "EUR"),
        (parsed.rows[2].external_id, "2025-02-05", "-12.00", "EUR"),
    ]
    # No bank reference: an id derived from the content, never the bare "NONREF".
    assert parsed.rows[2].external_id.startswith("derived-")
    first = parsed.rows[0]
    assert (first.source, first.batch_ref, first.row_ref) == ("mt940", parsed.sha256, "1")
    # A :86: line of full width (65) was wrapped mid-word; a shorter one ended a phrase.
    assert [r.description for r in parsed.rows] == [
        "Office supplies order 55813 paper and toner for the Rotterdam office",
        "Payment invoice INV-2025-017 thank you",
        "Account fee February",
    ]
    (balance,) = parsed.balances
    assert (balance.account, balance.statement, balance.currency) == (
        "NL91ABNA0417164300",
        "00042/001",
        "EUR",
    )
    assert (balance.opening, balance.closing, balance.entry_count) == (
        Decimal("1000.00"),
        Decimal("2192.50"),
        3,
    )
    assert balance.ok and (balance.first_date, balance.last_date) == ("2025-02-03", "2025-02-05")
    assert parsed.layout["format"] == "MT940" and parsed.layout["statements"] == 1
    assert parsed.layout["accounts"] == ["NL91ABNA0417164300"]
    json.dumps(parsed.layout)


def test_german_structured_details_in_a_windows_1252_file() -> None:
    parsed = read(DATA / "german.sta")
    assert parsed.rejected == [] and parsed.balances[0].ok
    rent, credit, fee = parsed.rows
    # ?20-?24 with EREF+/MREF+/CRED+/SVWZ+: the description is the remittance text alone.
    assert rent.description == "Miete März 2025 Büro Hauptstraße 5"
    # ?32 is cut at 27 characters mid-word and ?33 continues it.
    assert rent.counterparty == "Grundstücksverwaltung Müller & Söhne GmbH"
    assert (rent.counterparty_iban, rent.reference) == ("DE89370400440532013000", "RG-2025-0311-77")
    assert rent.external_id == "37040044/0532013000:2503110001234"
    # A creditor reference (ISO 11649) in the text is the reference; EREF+NOTPROVIDED is none.
    assert credit.description == "RF18 5390 0754 7034 Rechnung 2025-114"
    assert credit.reference == "RF18 5390 0754 7034"
    assert (credit.counterparty, credit.counterparty_iban) == (
        "Ørsted Köln GmbH",
        "AT611904300234573201",
    )
    # A purpose line shorter than 27 characters ended where the bank meant it to.
    assert (fee.description, fee.counterparty, fee.reference) == (
        "Kontoführung März Konto 0532013000",
        None,
        None,
    )


def test_reversals_are_signed_by_their_direction_and_marked() -> None:
    parsed = read(DATA / "reversals.sta")
    assert fields(parsed, "amount", "description") == [
        ("-100.00", "Abo April"),
        # RD reverses a debit: the money comes back in.
        ("100.00", "Reversal: Abo April"),
        # Text before the first SVWZ+/EREF+ keyword is remittance text too.
        ("40.00", "Rechnung 4711 Teilzahlung"),
        # RC reverses a credit: the money goes out again.
        ("-40.00", "Reversal: Return of credit K-4711"),
    ]
    assert [r.reference for r in parsed.rows] == ["ABO-99", "ABO-99", "K-4711", None]
    assert parsed.balances[0].ok


def test_two_statements_of_two_accounts_in_a_swift_envelope() -> None:
    parsed = read(DATA / "two_accounts.sta")
    assert parsed.rows_total == 2 and parsed.rejected == []
    # The same bank reference in two accounts stays two transactions.
    assert fields(parsed, "external_id", "amount", "currency", "counterparty") == [
        ("DE89370400440532013000:DB0001", "-250.00", "EUR", "Ørsted Energi A/S"),
        ("DE02120300000000202051:DB0001", "600.00", "USD", None),
    ]
    assert parsed.rows[1].description == "Customer payment Müller order 9"
    assert [(b.account, b.currency, b.opening, b.ok) for b in parsed.balances] == [
        ("DE89370400440532013000", "EUR", Decimal("1500.00"), True),
        ("DE02120300000000202051", "USD", Decimal("-100.00"), True),
    ]
    layout = parsed.layout
    assert layout["statements"] == 2 and layout["swift_envelope"] is True
    assert layout["accounts"] == ["DE89370400440532013000", "DE02120300000000202051"]


def test_a_statement_whose_entries_miss_its_closing_balance_reports_the_difference() -> None:
    parsed = read(DATA / "lost_entry.sta")
    assert len(parsed.rows) == 1 and parsed.rejected == []
    (balance,) = parsed.balances
    assert balance.ok is False and balance.difference == Decimal("-20.00")
    assert "difference -20.00" in balance.describe()
    assert parsed.layout["balances_ok"] is False


def test_entry_dates_across_the_year_end_take_the_nearest_year() -> None:
    parsed = read(DATA / "year_end.sta")
    assert fields(parsed, "value_date", "booking_date") == [
        ("2025-12-31", "2026-01-02"),
        ("2026-01-02", "2025-12-31"),
    ]


def test_a_broken_entry_is_rejected_with_its_reason_and_the_others_kept() -> None:
    parsed = read(DATA / "broken_entry.sta")
    assert accounted(parsed) and parsed.rows_total == 6
    assert fields(parsed, "row_ref", "amount") == [("1", "-10.00"), ("6", "30.00")]
    assert [(r["row_ref"], r["reason"]) for r in parsed.rejected] == [
        ("2", "bad value date '251301' (YYMMDD)"),
        ("3", "bad entry date '1332' (MMDD)"),
        ("4", "bad amount '1,2,3'"),
        ("5", "not a valid :61: statement line 'not a statement line at all'"),
    ]
    raw = parsed.rejected[0]["raw"]
    assert raw[":61:"] == "2513010801D20,00NTRFNONREF//B1" and raw[":86:"] == "Bad value date"
    assert raw["line"] == 7 and raw["account"] == "NL20INGB0001234567"
    # Entries whose amount was readable count in the balance; the others show as the gap.
    (balance,) = parsed.balances
    assert balance.entries == Decimal("-7.00") and balance.difference == Decimal("-5.00")


def test_statement_sent_as_txt_with_cr_line_ends_and_swift_coded_details() -> None:
    parsed = read(DATA / "statement.txt")
    assert parsed.file_format == "mt940" and accounted(parsed) and parsed.balances[0].ok
    assert fields(parsed, "description", "counterparty", "counterparty_iban", "reference") == [
        ("Factuur 2025-88", "J. de Vries", "NL44RABO0123456789", "E2E-88-XYZ"),
        ("Betaling 7781", "Bakkerij Öztürk", "NL91ABNA0417164300", None),
    ]


def test_an_overlapping_later_statement_gives_the_same_ids_to_the_same_entries() -> None:
    january = read(DATA / "february_1.sta")
    later = read(DATA / "february_2.sta")
    first_ids = [r.external_id for r in january.rows]
    later_ids = [r.external_id for r in later.rows]
    # Two identical coffees without a bank reference: two ids, and the same two again later.
    assert len(set(first_ids)) == 3 and later_ids[:2] == first_ids[1:]
    assert later_ids[2] not in first_ids


def test_entries_without_a_transaction_type_stay_separate(tmp_path: Path) -> None:
    """The library's whole-file parse merges :61: lines that carry no type code into one."""
    path = write(
        tmp_path,
        "bare.sta",
        ":20:X\n:25:ACC\n:60F:C250101EUR0,00\n:61:250102D1,00\n:61:250102D2,00\n"
        ":61:250103C3,00//BANK-9\n:62F:C250103EUR0,00\n",
    )
    parsed = read(path)
    assert fields(parsed, "amount", "external_id")[2] == ("3.00", "ACC:BANK-9")
    assert [r.amount for r in parsed.rows] == ["-1.00", "-2.00", "3.00"]
    assert parsed.balances[0].ok


def test_long_customer_reference_before_the_bank_reference(tmp_path: Path) -> None:
    """GLS/Atruvia banks write a customer reference longer than SWIFT's 16 characters."""
    path = write(
        tmp_path,
        "gls.sta",
        ":20:G\n:25:DE1\n:60F:C250101EUR10,00\n"
        ":61:2501020102DR20,00NTRFBIPI-dvT1FzfMqvzF5HaU4oetlH7SGRkonU//2022070616391534000\n"
        ":62F:D250102EUR10,00\n",
    )
    parsed = read(path)
    assert [r.external_id for r in parsed.rows] == ["DE1:2022070616391534000"]


def test_an_rf_reference_must_pass_its_check_digits(tmp_path: Path) -> None:
    body = (
        ":20:R\n:25:DE1\n:60F:C250101EUR0,00\n"
        ":61:250102C1,00NTRFNONREF//A\n:86:Invoice RF19 5390 0754 7034\n"
        ":61:250102C1,00NTRFNONREF//B\n:86:Invoice RF18539007547034 paid\n"
        ":62F:C250102EUR2,00\n"
    )
    parsed = read(write(tmp_path, "rf.sta", body))
    assert [r.reference for r in parsed.rows] == [None, "RF18539007547034"]


def test_an_iban_written_in_the_text_is_the_counterparty_iban(tmp_path: Path) -> None:
    body = (
        ":20:I\n:25:DE1\n:60F:C250101EUR0,00\n"
        ":61:250102C1,00NTRFNONREF//A\n:86:From IBAN: DE89 3704 0044 0532 0130 00 BIC COBADEFF\n"
        ":61:250102C1,00NTRFNONREF//B\n"
        ":86:166?00SEPA?20SVWZ+Rechnung 5?21IBAN+DE89370400440532013000?22BIC+COBADEFFXXX\n"
        ":61:250102C1,00NTRFNONREF//C\n:86:IBAN: DE00 3704 0044 0532 0130 00\n"
        ":62F:C250102EUR3,00\n"
    )
    parsed = read(write(tmp_path, "iban.sta", body))
    assert fields(parsed, "counterparty_iban") == [
        ("DE89370400440532013000",),
        ("DE89370400440532013000",),
        (None,),  # the check digits do not hold
    ]
    assert parsed.rows[1].description == "Rechnung 5"


def test_bank_specific_lines_stay_out_of_the_description(tmp_path: Path) -> None:
    body = (
        ":20:NS\n:25P:DE44500105175407324931\nINGDDEFFXXX\n:60F:C250101EUR0,00\n"
        ":61:250102C1,00NTRFNONREF//A\n:NS:22Branch 0042\n23Teller 7\n:86:Cash deposit\n"
        ":62F:C250102EUR1,00\n"
    )
    parsed = read(write(tmp_path, "ns.sta", body))
    assert fields(parsed, "description", "external_id") == [
        ("Cash deposit", "DE44500105175407324931:A")
    ]


def test_an_invalid_byte_in_a_utf8_statement_rejects_only_its_entry(tmp_path: Path) -> None:
    clean = (DATA / "two_accounts.sta").read_bytes()
    damaged = clean.replace(b"payment M\xc3\xbcller", b"payment M\xfcller")
    assert damaged != clean
    parsed = read(write(tmp_path, "damaged.sta", damaged))
    assert accounted(parsed)
    assert [r.counterparty for r in parsed.rows] == ["Ørsted Energi A/S"]
    (bad,) = parsed.rejected
    assert "0xFC" in bad["reason"] and "M\\xFCller" in bad["raw"][":86:"]
    # Its amount was readable, so its statement still adds up.
    assert all(b.ok for b in parsed.balances)


def test_currency_from_the_closing_balance_else_the_teams_default(tmp_path: Path) -> None:
    body = ":20:N\n:25:DE1\n:61:250102C1,00NTRF//A\n:62F:C250102CHF1,00\n"
    assert [r.currency for r in read(write(tmp_path, "a.sta", body)).rows] == ["CHF"]
    unreadable = read(write(tmp_path, "b.sta", body.replace(":62F:C250102CHF1,00", ":62F:C2501")))
    assert [r.currency for r in unreadable.rows] == ["EUR"]
    assert unreadable.balances[0].ok is None
    assert unreadable.layout["problems"] == ["statement N: balance :62F:'C2501' cannot be read"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("export.sta", "Date,Amount\n2025-01-02,-3.00\n", "not an MT940 statement"),
        ("cut.sta", (DATA / "plain.sta").read_bytes()[:300], "the MT940 file is incomplete"),
        ("binary.940", b"\x00\x01:20:X\n:25:Y\n", "binary data"),
        ("nocur.sta", ":20:X\n:25:Y\n:61:250102C1,00NTRF\n:62F:\n", "default currency"),
    ],
)
def test_unusable_files_are_refused_with_one_line(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message) as caught:
        read(write(tmp_path, name, content), default_currency=None)
    assert "\n" not in str(caught.value)


def test_content_sniffing_recognizes_mt940_and_nothing_else() -> None:
    for name in ("plain.sta", "two_accounts.sta", "statement.txt", "german.sta"):
        assert looks_like_mt940((DATA / name).read_bytes()), name
    assert not looks_like_mt940(b"Date,Description,Amount\n2025-01-02,:20: fee,-1\n")
    assert not looks_like_mt940(b":20:only a reference line\nand then prose\n")
    assert not looks_like_mt940(b"OFXHEADER:100\nDATA:OFXSGML\n<OFX>")


def test_a_large_statement_reads_whole(tmp_path: Path) -> None:
    """Every entry of a long statement, distinct ids; its speed is benchmarks/bank_files.py's."""
    lines = [":20:BIG", ":25:DE89370400440532013000", ":60F:C250101EUR0,00"]
    for i in range(5_000):
        lines.append(f":61:25{1 + i % 12:02d}{1 + i % 28:02d}C1,00NTRFNONREF")
        lines.append(f":86:166?00GUTSCHRIFT?20SVWZ+Rechnung {i}?32Kunde {i % 7}")
    lines.append(":62F:C251231EUR5000,00")
    path = write(tmp_path, "big.sta", "\r\n".join(lines) + "\r\n")
    parsed = read(path)
    assert len(parsed.rows) == 5_000 and accounted(parsed) and parsed.balances[0].ok
    assert len({r.external_id for r in parsed.rows}) == 5_000


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture
def team(engine, app_env, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-20T12:00:00+00:00")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "t-mt", "name": "Mt", "time_zone": "UTC", "base_currency": "EUR"},
        )
    return "t-mt"


def _import(capsys, team: str, *paths: Path) -> list[dict]:  # type: ignore[no-untyped-def]
    code = main(["import", "--team", team, *map(str, paths), "--json"])
    out = capsys.readouterr()
    assert code == 0 and "Traceback" not in out.err, out.err
    return json.loads(out.out)


@pytest.mark.integration
def test_statements_land_with_their_details_and_the_report_adds_up(engine, team, capsys) -> None:  # type: ignore[no-untyped-def]
    german, broken = _import(capsys, team, DATA / "german.sta", DATA / "broken_entry.sta")
    assert (german["rows"], german["landed"], german["quarantined"]) == (3, 3, 0)
    assert (broken["rows"], broken["landed"], broken["quarantined"]) == (6, 2, 4)
    assert german["adds_up"] and broken["adds_up"]
    with engine.connect() as conn:
        landed = conn.execute(
            sa.select(
                Transaction.source,
                Transaction.counterparty,
                Transaction.counterparty_iban,
                Transaction.reference,
                Transaction.value_date,
            ).where(Transaction.amount == Decimal("-1190"))
        ).one()
        reasons = conn.scalars(sa.select(QuarantinedRow.reason)).all()
        details = conn.scalars(sa.select(ImportFile.details).order_by(ImportFile.id)).all()
    assert landed[:4] == (
        "mt940",
        "Grundstücksverwaltung Müller & Söhne GmbH",
        "DE89370400440532013000",
        "RG-2025-0311-77",
    )
    assert str(landed[4]) == "2025-03-11"
    assert "bad amount '1,2,3'" in reasons and len(reasons) == 4
    # The balance check is stored with the file: the broken statement misses 5.00.
    assert [d["balances"][0]["difference"] for d in details] == ["0.00", "-5.00"]


@pytest.mark.integration
def test_reimporting_an_overlapping_statement_lands_nothing_twice(engine, team, capsys) -> None:  # type: ignore[no-untyped-def]
    (first,) = _import(capsys, team, DATA / "february_1.sta")
    (later,) = _import(capsys, team, DATA / "february_2.sta")
    assert (first["landed"], first["duplicates"]) == (3, 0)
    assert (later["rows"], later["landed"], later["duplicates"], later["quarantined"]) == (
        3,
        1,
        2,
        0,
    )
    assert later["adds_up"]
    with engine.connect() as conn:
        amounts = sorted(str(a) for a in conn.scalars(sa.select(Transaction.amount)))
    assert amounts == ["-20.0000", "-3.2000", "-3.2000", "50.0000"]
