"""CSV exports as banks, card issuers, payment providers and accounting tools write them are read
without a mapping: by a named profile (``csv_profiles/*.toml``) or by header names in six
languages. Every line of every fixture is a row, a rejected row with a reason, or a balance or
summary line the layout lists; a running balance that does not add up is reported.

The fixtures in ``data/csv_exports`` follow each export's documented layout (``make_exports.py``
writes them); the values expected here are read off those files by hand.
"""

from __future__ import annotations

import importlib.util
import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.defs.ingestion import csv_profiles
from bg_agents.defs.ingestion.files import ParsedFile, read_import_file
from bg_agents.defs.ingestion.formats import ColumnMapping, ImportFileError
from bg_agents.lib.db.models import Team, Transaction
from bg_agents.lib.tabular.amounts import parse_amount_and_currency
from bg_agents.lib.tabular.balances import Entry, check_running_balance
from bg_agents.lib.tabular.text import LINES, decode_bank_text

EXPORTS = Path(__file__).parent / "data" / "csv_exports"
# A team currency no fixture uses: a row in JPY got its currency from the team, not the file.
TEAM_CURRENCY = "JPY"

# file -> (profile or None for the aliases, rows, rejected, first row's date, amount, currency)
EXPECTED: dict[str, tuple[str | None, int, int, str, str, str]] = {
    "amex.csv": ("amex", 3, 0, "2024-02-14", "-412.60", "USD"),
    "bank_of_america.csv": ("bank_of_america", 4, 0, "2024-01-02", "2500.00", "USD"),
    "barclays.csv": ("barclays", 5, 0, "2024-01-15", "-32.40", "GBP"),
    "chase_card.csv": ("chase_card", 5, 0, "2024-01-29", "-23.41", "USD"),
    "chase_checking.csv": ("chase_checking", 5, 0, "2024-01-12", "250.00", "USD"),
    "de_soll_haben.csv": (None, 3, 0, "2024-02-01", "-1914.00", "EUR"),
    "deutsche_bank.csv": ("deutsche_bank", 4, 0, "2024-01-02", "1480.00", "EUR"),
    "en_amount_styles.csv": (None, 4, 1, "2024-05-02", "-1250.00", "GBP"),
    "en_debit_credit.csv": (None, 3, 0, "2024-03-05", "-120.00", TEAM_CURRENCY),
    "es_banco.csv": (None, 4, 0, "2024-04-02", "-45.20", "EUR"),
    "fr_banque.csv": (None, 4, 0, "2024-03-01", "-1482.00", TEAM_CURRENCY),
    "ing_nl.csv": ("ing_nl", 3, 0, "2024-03-05", "-23.18", "EUR"),
    "it_banca.csv": (None, 4, 0, "2024-02-01", "-148.30", TEAM_CURRENCY),
    "mint.csv": ("mint", 3, 0, "2024-03-01", "-54.12", "USD"),
    "monzo.csv": ("monzo", 3, 0, "2024-03-01", "-4.25", "GBP"),
    "n26.csv": ("n26", 3, 0, "2024-03-01", "640.00", "EUR"),
    "n26_legacy.csv": ("n26_legacy", 3, 0, "2022-11-02", "850.0", "EUR"),
    "paypal_activity.csv": ("paypal_activity", 6, 1, "2024-02-03", "1206.05", "GBP"),
    "rabobank.csv": ("rabobank", 3, 0, "2024-03-01", "1815.00", "EUR"),
    "revolut.csv": ("revolut", 4, 2, "2024-02-01", "500.00", "EUR"),
    "sparkasse_camt.csv": ("sparkasse_camt", 3, 1, "2024-02-29", "2975.00", "EUR"),
    "stripe_balance.csv": ("stripe_balance", 5, 0, "2024-01-15", "116.22", "USD"),
    "ubs_fr.csv": ("ubs_fr", 4, 0, "2024-03-01", "-2450.00", "CHF"),
    "wise_statement.csv": ("wise_statement", 5, 0, "2024-04-08", "-64.90", "EUR"),
    "xero_journals.csv": ("xero_journals", 5, 0, "2024-01-31", "1000.00", TEAM_CURRENCY),
}
# Refused whole, each with the fix a user applies (see the tests below).
REFUSED = {
    "mint_headerless.csv": "no header row",
    "payoneer_ambiguous.csv": '"date_format": "%d/%m/%Y"',
}


def read(path: Path, **kwargs: object) -> ParsedFile:
    kwargs.setdefault("default_currency", TEAM_CURRENCY)
    return read_import_file(path, "acme", **kwargs)  # type: ignore[arg-type]


def data_lines(path: Path, header_line: int) -> int:
    """Non-blank physical lines after the header: counted apart from the reader's rows."""
    lines = LINES.findall(decode_bank_text(path.read_bytes()))
    return sum(1 for line in lines[header_line:] if line.strip())


def test_every_fixture_is_listed_and_every_profile_has_a_fixture() -> None:
    on_disk = {p.name for p in EXPORTS.glob("*.csv")}
    assert on_disk == set(EXPECTED) | set(REFUSED)
    assert len(on_disk) >= 18
    assert {p.name for p in csv_profiles.profiles()} == {e[0] for e in EXPECTED.values()} - {None}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_is_recognized_without_a_mapping_and_every_line_is_accounted_for(
    name: str,
) -> None:
    profile, rows, rejected, date, amount, currency = EXPECTED[name]
    parsed = read(EXPORTS / name)
    layout = parsed.layout
    assert layout["profile"] == profile
    assert (len(parsed.rows), len(parsed.rejected)) == (rows, rejected)
    assert parsed.rows_total == rows + rejected
    assert all(r["reason"] for r in parsed.rejected)
    # Lines that are no entry (a balance or summary line) are named in the layout, never lost.
    not_entries = len(layout.get("balance_lines", [])) + len(layout.get("summary_lines", []))
    assert data_lines(EXPORTS / name, layout["header_line"]) == parsed.rows_total + not_entries
    first = parsed.rows[0]
    assert (first.booking_date, first.amount, first.currency) == (date, amount, currency)
    assert len({r.external_id for r in parsed.rows}) == rows
    assert all(len(r.external_id) <= 128 for r in parsed.rows)
    assert all(b.ok for b in parsed.balances), [b.describe() for b in parsed.balances]


def test_share_recognized_without_a_mapping() -> None:
    """The issue's measure: of the CSV fixtures, how many read with no mapping at all."""
    recognized = 0
    for path in sorted(EXPORTS.glob("*.csv")):
        try:
            read(path)
        except ImportFileError:
            continue
        recognized += 1
    assert recognized == len(EXPECTED) == 25
    assert recognized / (len(EXPECTED) + len(REFUSED)) >= 0.9


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_files_that_cannot_be_read_safely_are_refused_with_the_fix(name: str) -> None:
    with pytest.raises(ImportFileError, match=REFUSED[name]):
        read(EXPORTS / name)


def test_a_headerless_export_reads_once_its_header_line_is_added(tmp_path: Path) -> None:
    header = (
        '"Date","Description","Original Description","Amount","Transaction Type","Category",'
        '"Account Name","Labels","Notes"\n'
    )
    path = tmp_path / "mint.csv"
    path.write_bytes(header.encode() + (EXPORTS / "mint_headerless.csv").read_bytes())
    parsed = read(path)
    assert parsed.layout["profile"] == "mint" and len(parsed.rows) == 3


def test_ambiguous_dates_read_once_a_mapping_names_the_format() -> None:
    parsed = read(EXPORTS / "payoneer_ambiguous.csv", mapping=ColumnMapping(date_format="%d/%m/%Y"))
    assert [r.booking_date for r in parsed.rows] == [
        "2024-04-03",
        "2024-04-05",
        "2024-04-06",
        "2024-04-11",
    ]
    assert parsed.layout["date_format"] == "%d/%m/%Y"


def test_value_dates_help_settle_the_day_month_order(tmp_path: Path) -> None:
    path = tmp_path / "valuta.csv"
    path.write_text("Date;Value Date;Amount\n03/04/2024;13/04/2024;-1,00\n")
    (row,) = read(path).rows
    assert (row.booking_date, row.value_date) == ("2024-04-03", "2024-04-13")


def test_a_profile_settles_dates_no_row_of_the_file_could(tmp_path: Path) -> None:
    """Chase writes MM/DD/YYYY: a month of ambiguous dates still reads, month first."""
    path = tmp_path / "chase.csv"
    path.write_text(
        "Transaction Date,Post Date,Description,Category,Type,Amount,Memo\n"
        "03/04/2024,03/05/2024,UBER   *TRIP,Travel,Sale,-23.41,\n"
    )
    assert [r.booking_date for r in read(path).rows] == ["2024-03-05"]


# --- what a profile and the aliases read ---------------------------------------------------------


def test_a_users_mapping_wins_over_the_profile() -> None:
    """PayPal's profile reads Net (what moved the balance); a mapping asking for Gross gets it,
    and the profile still supplies every column the mapping does not name."""
    default = read(EXPORTS / "paypal_activity.csv")
    mapped = read(EXPORTS / "paypal_activity.csv", mapping=ColumnMapping(amount="Gross"))
    assert [r.amount for r in default.rows][:2] == ["1206.05", "-89.99"]
    assert [r.amount for r in mapped.rows][:2] == ["1250.00", "-89.99"]
    assert mapped.layout["profile"] == "paypal_activity"
    assert mapped.layout["columns"]["amount"] == "Gross"
    assert [r.external_id for r in mapped.rows] == [r.external_id for r in default.rows]


def test_a_profile_wins_over_the_aliases() -> None:
    """Stripe's export has an Amount column the aliases would take; the balance moved by Net."""
    parsed = read(EXPORTS / "stripe_balance.csv")
    assert parsed.layout["columns"]["amount"] == "Net"
    assert sum(Decimal(r.amount) for r in parsed.rows) == Decimal("0.00")  # all paid out
    first = parsed.rows[0]
    assert (first.external_id, first.reference, first.value_date) == (
        "txn_3OaB1cLkdIwHu7ix0aBcDeF1",
        "ch_3OaB1cLkdIwHu7ix0xYz1234",
        "2024-01-17",
    )


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        (
            "fr_banque.csv",
            {"date": "Date opération", "value_date": "Date valeur", "description": "Libellé"},
        ),
        ("es_banco.csv", {"date": "Fecha operación", "amount": "Importe", "balance": "Saldo"}),
        ("it_banca.csv", {"date": "Data contabile", "debit": "Dare", "credit": "Avere"}),
        ("de_soll_haben.csv", {"value_date": "Valuta", "amount": "Betrag (EUR)"}),
        ("en_debit_credit.csv", {"direction": "Debit/Credit", "balance": "Balance"}),
    ],
)
def test_headers_in_each_language_are_recognized(name: str, columns: dict[str, str]) -> None:
    layout = read(EXPORTS / name).layout
    assert layout["profile"] is None
    assert {f: layout["columns"].get(f) for f in columns} == columns


def test_value_dates_counterparty_ibans_and_text_fallbacks_are_kept() -> None:
    rows = read(EXPORTS / "deutsche_bank.csv").rows
    assert [(r.booking_date, r.value_date) for r in rows][2] == ("2024-01-05", "2024-01-04")
    assert rows[0].counterparty == "Bäckerei Schäfer GmbH"  # Windows-1252 decoded
    assert rows[0].counterparty_iban == "DE44500105175407324931"
    assert rows[2].counterparty_iban is None  # a card payment names no IBAN
    # Mandatsreferenz stands in when the Kundenreferenz is empty.
    assert rows[1].reference == "SWM-2024-01-4711"
    wise = read(EXPORTS / "wise_statement.csv").rows
    assert [r.counterparty for r in wise] == [
        "Café Élysée",
        None,
        "Hausverwaltung Krause",
        "Bahn.de",
        "Acme Corp Ltd",
    ]


def test_direction_columns_sign_unsigned_amounts() -> None:
    ing = read(EXPORTS / "ing_nl.csv").rows
    assert [r.amount for r in ing] == ["-23.18", "2420.00", "-87.45"]
    volksbank = read(EXPORTS / "de_soll_haben.csv").rows
    assert [r.amount for r in volksbank] == ["-1914.00", "4760.00", "-59.95"]
    mint = read(EXPORTS / "mint.csv").rows
    assert [r.amount for r in mint] == ["-54.12", "2850.00", "-15.49"]


def test_a_direction_word_that_says_neither_way_is_a_rejected_row(tmp_path: Path) -> None:
    path = tmp_path / "dc.csv"
    path.write_text(
        "Date,Description,Amount,Debit/Credit\n"
        "2024-03-01,Rent,900.00,D\n2024-03-02,Refund,-12.00,C\n2024-03-03,Odd,5.00,X\n"
    )
    parsed = read(path)
    assert [r.amount for r in parsed.rows] == ["-900.00"]
    reasons = [r["reason"] for r in parsed.rejected]
    assert "negative but Debit/Credit says 'C'" in reasons[0]
    assert "Debit/Credit is 'X', neither money out" in reasons[1]


def test_inverted_signs_and_fees_follow_the_profile() -> None:
    amex = read(EXPORTS / "amex.csv").rows
    assert [r.amount for r in amex] == ["-412.60", "1500.00", "-1080.00"]  # charges positive
    revolut = read(EXPORTS / "revolut.csv").rows
    assert [r.amount for r in revolut] == ["500.00", "-8.45", "-201.00", "-120.00"]  # 1.00 fee


def test_rows_not_booked_are_held_back_with_a_reason() -> None:
    parsed = read(EXPORTS / "sparkasse_camt.csv")
    (pending,) = parsed.rejected
    assert pending["raw"]["Info"] == "Umsatz vorgemerkt"
    assert "not booked" in pending["reason"]
    assert parsed.layout["not_booked"] == 1
    revolut = read(EXPORTS / "revolut.csv")
    assert [r["raw"]["State"] for r in revolut.rejected] == ["DECLINED", "PENDING"]


def test_amount_styles_and_the_currency_a_cell_names(tmp_path: Path) -> None:
    parsed = read(EXPORTS / "en_amount_styles.csv")
    assert [r.amount for r in parsed.rows] == ["-1250.00", "310.40", "-4.99", "2400.00"]
    (conflict,) = parsed.rejected
    assert conflict["reason"] == "the amount is in EUR but the currency column says GBP"
    # Without a currency column, the cell's currency is the row's, over the team's.
    spanish = read(EXPORTS / "es_banco.csv")
    assert {r.currency for r in spanish.rows} == {"EUR"}
    path = tmp_path / "cells.csv"
    path.write_text("Date,Amount\n2024-01-02,12.50 CHF\n2024-01-03,£4.00\n2024-01-04,$5.00\n")
    assert [(r.amount, r.currency) for r in read(path).rows] == [
        ("12.50", "CHF"),
        ("4.00", "GBP"),
        ("5.00", TEAM_CURRENCY),  # "$" is several currencies: it settles nothing
    ]


def test_a_header_currency_is_the_columns_and_a_cell_naming_another_is_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "betrag.csv"
    path.write_text("Datum;Betrag (EUR)\n02.01.2024;-12,50\n03.01.2024;4,00 USD\n")
    parsed = read(path)
    assert [(r.amount, r.currency) for r in parsed.rows] == [("-12.50", "EUR")]
    assert parsed.rejected[0]["reason"] == "the amount is in USD but its header says EUR"


def test_amounts_only_cells_with_currencies_need_no_default(tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    path.write_text("Date,Amount\n2024-01-02,EUR 12.50\n2024-01-03,-3.00 EUR\n")
    parsed = read_import_file(path, "acme")
    assert [(r.amount, r.currency) for r in parsed.rows] == [("12.50", "EUR"), ("-3.00", "EUR")]
    path.write_text("Date,Amount\n2024-01-02,EUR 12.50\n2024-01-03,-3.00\n")
    with pytest.raises(ImportFileError, match="no currency column"):
        read_import_file(path, "acme")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("xero_journals.csv", {"line_endings": "CR", "encoding": "utf-8", "decimal": "."}),
        (
            "sparkasse_camt.csv",
            {"encoding": "cp1252", "delimiter": ";", "decimal": ",", "date_format": "DD.MM.YY"},
        ),
        ("ubs_fr.csv", {"encoding": "utf-8-sig", "line_endings": "CRLF", "delimiter": ";"}),
        ("ing_nl.csv", {"date_format": "YYYYMMDD", "line_endings": "LF", "decimal": ","}),
        ("chase_card.csv", {"date_format": "MM/DD/YYYY"}),
        ("bank_of_america.csv", {"header_line": 7, "balance_lines": ["1"]}),
        ("deutsche_bank.csv", {"header_line": 4, "summary_lines": ["5"]}),
    ],
)
def test_the_layout_says_what_was_recognized(name: str, expected: dict[str, object]) -> None:
    layout = read(EXPORTS / name).layout
    assert {k: layout.get(k) for k in expected} == expected
    json.dumps(layout)  # stored as JSON with the file's report


def test_crlf_lf_and_cr_line_endings_read_the_same(tmp_path: Path) -> None:
    text = (EXPORTS / "xero_journals.csv").read_bytes().decode()
    ids = []
    for ending in ("\r", "\n", "\r\n"):
        path = tmp_path / f"xero{len(ending)}{ending == chr(10)}.csv"
        path.write_bytes(text.replace("\r", ending).encode())
        ids.append([r.external_id for r in read(path).rows])
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 5


# --- running balances --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "opening", "closing", "order"),
    [
        ("es_banco.csv", "823.40", "1705.26", "oldest first"),
        ("wise_statement.csv", "310.25", "1426.37", "newest first"),
        ("chase_checking.csv", "1204.33", "3872.17", "newest first"),
        ("bank_of_america.csv", "1312.45", "1778.33", "oldest first"),
        ("ubs_fr.csv", "3104.60", "6640.35", "oldest first"),  # Solde on some rows only
    ],
)
def test_a_running_balance_gives_the_statement_balance(
    name: str, opening: str, closing: str, order: str
) -> None:
    parsed = read(EXPORTS / name)
    (balance,) = parsed.balances
    assert (balance.opening, balance.closing, balance.ok) == (
        Decimal(opening),
        Decimal(closing),
        True,
    )
    assert balance.entry_count == len(parsed.rows)
    assert parsed.layout["row_order"] == order


def test_balances_are_checked_per_currency() -> None:
    balances = read(EXPORTS / "paypal_activity.csv").balances
    assert {(b.currency, b.ok, b.entry_count) for b in balances} == {
        ("GBP", True, 4),  # the pending row is not in the balance
        ("USD", True, 2),
    }


@pytest.mark.parametrize(
    ("name", "drop", "after_gap"),
    [
        ("es_banco.csv", 3, "3"),  # oldest first: the row below the gap is the next in time
        ("wise_statement.csv", 3, "2"),  # newest first: the row above it is
    ],
)
def test_a_lost_row_shows_as_a_balance_mismatch(
    tmp_path: Path, name: str, drop: int, after_gap: str
) -> None:
    """A row cut from the middle of the export (either row order): the balances no longer add
    up by exactly its amount, and the row after the gap in time is named."""
    data = (EXPORTS / name).read_bytes()
    lines = data.splitlines(keepends=True)
    whole = read(EXPORTS / name)
    lost = whole.rows[drop - 1]
    path = tmp_path / name
    path.write_bytes(b"".join(lines[:drop] + lines[drop + 1 :]))
    parsed = read(path)
    (balance,) = parsed.balances
    assert balance.ok is False
    assert balance.difference == Decimal(lost.amount)
    assert "partial export or lost rows" in balance.describe()
    assert parsed.layout["balance_breaks"] == [after_gap]


def test_an_altered_amount_breaks_the_chain_where_it_is(tmp_path: Path) -> None:
    text = (EXPORTS / "chase_checking.csv").read_text()
    path = tmp_path / "chase.csv"
    path.write_text(text.replace(",-89.99,", ",-98.99,"))
    parsed = read(path)
    (balance,) = parsed.balances
    assert balance.difference == Decimal("9.00")
    assert parsed.layout["balance_breaks"] == ["2"]  # newest first: row 2 is the altered one


def test_running_balance_arithmetic() -> None:
    def e(ref: str, amount: str | None, balance: str | None, day: str) -> Entry:
        return Entry(
            ref,
            None if amount is None else Decimal(amount),
            None if balance is None else Decimal(balance),
            f"2024-01-{day}",
        )

    chain = check_running_balance([e("1", "10", "110", "01"), e("2", "-5", "105", "02")])
    assert (chain.opening, chain.closing, chain.entries, chain.newest_first) == (
        Decimal(100),
        Decimal(105),
        Decimal(5),
        False,
    )
    newest = check_running_balance([e("1", "-5", "105", "02"), e("2", "10", "110", "01")])
    assert (newest.opening, newest.closing, newest.newest_first) == (100, 105, True)
    # An unreadable amount cannot be bridged: the next stated balance is a break.
    gap = check_running_balance(
        [e("1", "10", "110", "01"), e("2", None, None, "02"), e("3", "1", "131", "03")]
    )
    assert gap.breaks == ["3"] and gap.closing - (gap.opening + gap.entries) == 20


@pytest.mark.parametrize(
    ("cell", "decimal", "expected"),
    [
        ("12,50 EUR", ",", ("12.50", "EUR")),
        ("EUR 12.50", ".", ("12.50", "EUR")),
        ("12.50-", ".", ("-12.50", None)),
        ("(12.50)", ".", ("-12.50", None)),
        ("+1.234,56", ",", ("1234.56", None)),
        ("1'234.50", ".", ("1234.50", None)),
        ("CHF 1'234.50", ".", ("1234.50", "CHF")),
        ("-12,50 €", ",", ("-12.50", "EUR")),
        ("42.00 DR", ".", ("-42.00", None)),
        ("42.00 CR", ".", ("42.00", None)),
        ("42.00 IDR", ".", ("42.00", "IDR")),  # a code holding "DR" is no debit mark
        ("USD 5 EUR", ".", (None, None)),
        ("-42.00 DR", ".", (None, None)),
    ],
)
def test_amount_cells(cell: str, decimal: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_amount_and_currency(cell, decimal) == expected


def test_every_profile_file_is_valid_and_names_headers_its_signature_holds() -> None:
    for profile in csv_profiles.profiles():
        assert profile.signature, profile.name
        assert profile.columns["date"], profile.name
    with pytest.raises(ValueError, match="unknown key"):
        csv_profiles.parse_profile(
            {"name": "x", "title": "x", "signature": [], "columns": {}, "colums": {}}, "x.toml"
        )
    with pytest.raises(ValueError, match="date and an amount"):
        csv_profiles.parse_profile(
            {"name": "x", "title": "x", "signature": ["A"], "columns": {"date": "A"}}, "x.toml"
        )


# --- through `bg-agents import` ------------------------------------------------------------------


@pytest.fixture
def team(engine, app_env, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2024-12-31T12:00:00+00:00")
    monkeypatch.setenv("BG_AGENTS_HISTORY_START", "2022-01-01")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "exports", "name": "Exports", "time_zone": "UTC", "base_currency": "EUR"},
        )
    return "exports"


def _import(tmp_path: Path, team: str, name: str, data: bytes, capsys) -> dict:  # type: ignore[no-untyped-def]
    source = tmp_path / "downloads" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    code = main(["import", "--team", team, str(source), "--json"])
    out = capsys.readouterr()
    assert code == 0 and "Traceback" not in out.err, out.err
    (report,) = json.loads(out.out)
    return report


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "landed", "quarantined"),
    [
        ("paypal_activity.csv", 6, 1),
        ("revolut.csv", 4, 2),
        ("deutsche_bank.csv", 4, 0),
        ("ing_nl.csv", 3, 0),
        ("xero_journals.csv", 5, 0),
        ("barclays.csv", 5, 0),  # two identical direct debits land as two rows
    ],
)
def test_exports_land_through_the_import_and_every_row_is_accounted_for(
    engine, team, tmp_path, capsys, name: str, landed: int, quarantined: int
) -> None:  # type: ignore[no-untyped-def]
    report = _import(tmp_path, team, name, (EXPORTS / name).read_bytes(), capsys)
    assert (report["rows"], report["landed"], report["quarantined"]) == (
        landed + quarantined,
        landed,
        quarantined,
    )
    assert report["adds_up"]
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Transaction)) == landed


@pytest.mark.integration
def test_an_overlapping_later_export_lands_nothing_twice(engine, team, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Wise lists newest first; March's export then one that repeats two of its rows and adds a
    new one: only the new row lands, the repeated ones are duplicates."""
    lines = (EXPORTS / "wise_statement.csv").read_bytes().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    first = _import(tmp_path, team, "wise-1.csv", header + b"".join(rows[2:]), capsys)
    assert first["landed"] == 3
    second = _import(tmp_path, team, "wise-2.csv", header + b"".join(rows[:4]), capsys)
    assert (second["landed"], second["duplicates"]) == (2, 2)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Transaction)) == 5


@pytest.mark.integration
def test_a_balance_mismatch_is_on_the_files_report(engine, team, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    lines = (EXPORTS / "es_banco.csv").read_bytes().splitlines(keepends=True)
    report = _import(tmp_path, team, "es.csv", b"".join(lines[:2] + lines[3:]), capsys)
    assert report["landed"] == 3
    assert report["balances_agree"] is False


def test_the_fixtures_are_what_their_generator_writes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No fixture was edited by hand after ``make_exports.py`` wrote it (its balances add up)."""
    spec = importlib.util.spec_from_file_location("make_exports", EXPORTS / "make_exports.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.make_all()
    for path in EXPORTS.glob("*.csv"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
