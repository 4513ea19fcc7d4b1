"""QIF (Quicken Interchange Format) exports become one row per entry of each bank, cash or card
register, or a rejected row with a reason; the fixtures in ``data/qif`` follow the QIF spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.defs.ingestion.files import ParsedFile, read_import_file
from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.normalize import TeamRef, normalize
from bg_agents.defs.ingestion.qif_file import count_entries
from bg_agents.lib.db.models import Team, Transaction

DATA = Path(__file__).parent / "data" / "qif"


def read(path: Path, default_currency: str | None = "USD") -> ParsedFile:
    return read_import_file(path, "acme", default_currency=default_currency)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fields(parsed: ParsedFile, *names: str) -> list[tuple[object, ...]]:
    return [tuple(getattr(row, n) for n in names) for row in parsed.rows]


def accounted(parsed: ParsedFile) -> bool:
    return len(parsed.rows) + len(parsed.rejected) == parsed.rows_total


def test_us_checking_register_with_quicken_dates_checks_and_a_split() -> None:
    parsed = read(DATA / "us_checking.qif")
    assert parsed.file_format == "qif" and parsed.rejected == [] and parsed.rows_total == 7
    assert fields(parsed, "booking_date", "amount", "reference", "category") == [
        ("2026-01-02", "12500.00", None, "[Business Checking]"),
        ("2026-01-05", "-1450.00", "1042", "Rent"),
        ("2026-01-09", "-80.00", None, "Petty cash"),  # "ATM" is a type code, not a reference
        ("2026-01-14", "3200.00", None, "Sales:Consulting"),
        # The split entry is one row of its total, filed under its first split's category.
        ("2026-01-20", "-612.40", "1043", "Office:Supplies"),
        ("2026-01-27", "-4.50", None, "Meals"),
        ("2026-01-27", "-4.50", None, "Meals"),
    ]
    rent = parsed.rows[1]
    assert (rent.source, rent.currency, rent.counterparty, rent.description) == (
        "qif",
        "USD",
        "Harbor Property Management",
        "Harbor Property Management - January rent, suite 210",
    )
    ids = [row.external_id for row in parsed.rows]
    assert all(i.startswith("Business Checking:") and len(i) <= 128 for i in ids)
    assert len(set(ids)) == 7, "the two identical coffees are two rows with two ids"
    assert parsed.layout["accounts"] == ["Business Checking (Bank, 7 entries)"]
    assert parsed.layout["date_order"] == "mdy" and parsed.layout["opening_balance_entries"] == 1
    out = normalize(parsed.rows, {"acme": TeamRef(id=1, base_currency="USD")})
    assert out.quarantined == [] and len(out.transactions) == 7


def test_day_first_dates_are_settled_by_the_file_and_crlf_lines_are_read() -> None:
    parsed = read(DATA / "uk_dates.qif", default_currency="GBP")
    assert parsed.layout["date_order"] == "dmy"
    assert fields(parsed, "booking_date", "amount", "currency", "reference") == [
        ("2026-01-02", "-45.10", "GBP", None),
        ("2026-01-14", "2150.00", "GBP", None),
        ("2026-02-03", "-850.00", "GBP", "000318"),
    ]


def test_cp1252_export_with_umlauts_dotted_dates_and_decimal_commas() -> None:
    parsed = read(DATA / "girokonto_cp1252.qif", default_currency="EUR")
    assert parsed.rejected == [] and parsed.layout["decimal"] == ","
    assert fields(parsed, "booking_date", "amount", "counterparty") == [
        ("2026-01-05", "-1234.56", "Stadtwerke München"),
        ("2026-01-15", "2500.00", "Kunde AG"),
        ("2026-01-28", "-19.99", "Bäckerei Schön"),
    ]
    assert parsed.rows[2].description == "Bäckerei Schön - Frühstück Straßenfest"
    assert all(row.external_id.startswith("Girokonto:") for row in parsed.rows)


def test_two_accounts_are_read_and_lists_and_investments_are_skipped() -> None:
    parsed = read(DATA / "two_accounts.qif")
    assert parsed.rejected == [] and parsed.rows_total == 5
    by_account = [(row.external_id.split(":")[0], row.amount) for row in parsed.rows]
    assert by_account == [
        ("Operating", "-1000.00"),
        ("Operating", "5400.00"),
        ("Corporate Visa", "1000.00"),
        ("Corporate Visa", "-49.00"),
        ("Corporate Visa", "-49.00"),
    ]
    # The card payment is a transfer seen from both accounts: one row in each register.
    assert parsed.rows[0].category == "[Corporate Visa]"
    assert parsed.rows[2].category == "[Operating]"
    layout = parsed.layout
    assert layout["accounts"] == [
        "Operating (Bank, 2 entries)",
        "Corporate Visa (CCard, 3 entries)",
    ]
    assert layout["skipped"] == [
        "!Type:Cat (3 entries)",
        "!Type:Class (1 entry)",
        "!Type:Memorized (1 entry)",
        "!Type:Invst (2 entries)",
    ]
    assert layout["directives"] == ["!Option:AutoSwitch", "!Clear:AutoSwitch"]


def test_bad_entries_are_rejected_with_reasons_and_the_good_ones_read() -> None:
    parsed = read(DATA / "bad_entries.qif")
    assert [row.counterparty for row in parsed.rows] == ["Good Entry One", "Good Entry Two"]
    reasons = {r["row_ref"]: r["reason"] for r in parsed.rejected}
    assert reasons["2"] == "bad date '3/35/2026'"
    assert reasons["3"] == "bad amount 'abc'"
    assert reasons["4"] == "missing amount (T line)"
    assert "a ^ line between two entries is missing" in reasons["5"]
    assert "cut off" in reasons["7"]
    assert set(reasons) == {"2", "3", "4", "5", "7"} and parsed.rows_total == 7
    # The merged entry keeps both entries' lines, so nothing of either is lost.
    merged = next(r["raw"] for r in parsed.rejected if r["row_ref"] == "5")
    assert merged["payee"] == "First Of Two; Second Of Two" and merged["line"] == "17"


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        ("!Type:Bank", 1),
        ("!Type:CCard", 1),
        ("!Type:Cash", 1),
        ("!Type:Oth A", 1),
        ("!Type:oth l", 1),
        ("!Type:Invst", 0),
        ("!Type:Invoice", 0),
    ],
)
def test_registers_are_read_and_other_sections_skipped(
    tmp_path: Path, header: str, rows: int
) -> None:
    text = f"!Type:Bank\nD1/31/2026\nT-1.00\n^\n{header}\nD1/30/2026\nT-2.00\n^\n"
    parsed = read(write(tmp_path, "types.qif", text))
    assert [row.amount for row in parsed.rows] == ["-1.00", "-2.00"][: 1 + rows]
    assert accounted(parsed) and parsed.rows_total == 1 + rows
    assert parsed.layout.get("skipped") == (None if rows else [f"{header} (1 entry)"])


def test_an_account_block_without_its_caret_still_names_the_register(tmp_path: Path) -> None:
    text = "!Account\nNSavings\nTBank\n!Type:Bank\nD1/31/2026\nT-1.00\n^\n"
    parsed = read(write(tmp_path, "savings.qif", text))
    assert parsed.rejected == [] and parsed.rows[0].external_id.startswith("Savings:")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1/ 5' 4", "2004-01-05"),  # Quicken pads with spaces and marks 2000+ with '
        ("12/31'25", "2025-12-31"),
        ("1/5'2026", "2026-01-05"),
        ("12/31/99", "1999-12-31"),  # two digits without the apostrophe: 1970-2069
        ("01/05/26", "2026-01-05"),
        ("01-05-2026", "2026-01-05"),
        ("2026-01-05", "2026-01-05"),
    ],
)
def test_date_spellings_quicken_writes(tmp_path: Path, written: str, expected: str) -> None:
    # A second entry dated the 31st settles month-first order for the file.
    text = f"!Type:Bank\nD{written}\nT-1.00\n^\nD1/31/2026\nT-2.00\n^\n"
    parsed = read(write(tmp_path, "dates.qif", text))
    assert parsed.rejected == [] and parsed.rows[0].booking_date == expected


def test_ambiguous_dates_refuse_the_file_with_the_fix(tmp_path: Path) -> None:
    text = "!Type:Bank\nD01/02/2026\nT-1.00\n^\nD03/04/2026\nT-2.00\n^\n"
    with pytest.raises(ImportFileError) as exc:
        read(write(tmp_path, "ambiguous.qif", text))
    message = str(exc.value)
    assert "01/02/2026" in message or "1/2/2026" in message
    assert "day/month or month/day" in message and "after the 12th" in message


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("!Type:Bank\nD1/31/2026\nT-1.00\n^\n", None, "no currency"),
        ("!Type:Cat\nNOffice\nE\n^\n", "USD", "no bank, cash or credit card register"),
        ("D1/31/2026\nT-1.00\n^\n", "USD", "not a QIF file"),
        # A Kuwaiti account: 1,250 dinars or 1.250? Nothing in the file says.
        ("!Type:Bank\nD1/31/2026\nT-1,250\n^\n", "KWD", r"1250 or 1\.250 KWD.*as OFX"),
    ],
)
def test_unusable_qif_is_refused_with_a_reason(
    tmp_path: Path, text: str, currency: str | None, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        read(write(tmp_path, "x.qif", text), default_currency=currency)


def test_a_lone_thousands_comma_is_read_as_thousands_in_a_two_decimal_currency(
    tmp_path: Path,
) -> None:
    parsed = read(write(tmp_path, "big.qif", "!Type:Bank\nD1/31/2026\nT-1,250\n^\n"))
    assert fields(parsed, "amount") == [("-1250",)]


def test_an_overlapping_later_export_keeps_the_ids_of_the_entries_it_repeats(
    tmp_path: Path,
) -> None:
    entries = [
        "D1/5'26\nT-4.50\nPBlue Bottle\n^\n",
        "D1/5'26\nT-4.50\nPBlue Bottle\n^\n",
        "D1/13'26\nT100.00\nPClient\nMInvoice 7\n^\n",
        "D1/20'26\nT-9.99\nPStreaming\n^\n",
    ]
    head = "!Account\nNChecking\nTBank\n^\n!Type:Bank\n"
    first = read(write(tmp_path, "jan.qif", head + "".join(entries[:3])))
    # Quicken writes 2026 as '26 or /2026 depending on the version: the same entries.
    later = "".join(entries[1:]).replace("'26", "/2026")
    second = read(write(tmp_path, "later.qif", head + entries[0] + later))
    first_ids = [row.external_id for row in first.rows]
    second_ids = [row.external_id for row in second.rows]
    assert second_ids[:3] == first_ids and len(set(second_ids)) == 4
    other = read(write(tmp_path, "savings.qif", head.replace("Checking", "Savings") + entries[2]))
    assert other.rows[0].external_id != first_ids[2], "the account name is part of the id"


def test_qif_under_another_extension_is_recognized_by_its_content(tmp_path: Path) -> None:
    parsed = read(write(tmp_path, "export.txt", "!Type:CCard\nD1/31/2026\nT-12.00\nPShop\n^\n"))
    assert parsed.file_format == "qif" and fields(parsed, "amount") == [("-12.00",)]


def test_an_invalid_byte_rejects_only_its_entry(tmp_path: Path) -> None:
    text = "!Type:Bank\nD1/30/2026\nT-1.00\nPCafé\n^\nD1/31/2026\nT-2.00\nPMüller\n^\n"
    path = tmp_path / "bytes.qif"
    path.write_bytes(text.encode("utf-8").replace("ü".encode(), b"\xfc"))
    parsed = read(path)
    assert fields(parsed, "counterparty") == [("Café",)]
    (rejected,) = parsed.rejected
    assert rejected["row_ref"] == "2" and "0xFC" in rejected["reason"]
    assert rejected["raw"]["payee"] == "M\\xFCller"


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.qif")))
def test_every_entry_of_every_fixture_is_a_row_or_a_rejected_row(name: str) -> None:
    parsed = read(DATA / name, default_currency="EUR")
    assert accounted(parsed) and parsed.rows_total > 0
    refs = [row.row_ref for row in parsed.rows] + [r["row_ref"] for r in parsed.rejected]
    assert len(set(refs)) == len(refs) and all(r["reason"] for r in parsed.rejected)


@pytest.mark.integration
def test_qif_import_lands_once_and_an_overlapping_export_adds_only_new_entries(
    engine, app_env, tmp_path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-20T12:00:00+00:00")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "acme", "name": "Acme", "time_zone": "UTC", "base_currency": "USD"},
        )
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    january = downloads / "january.qif"
    january.write_bytes((DATA / "us_checking.qif").read_bytes())
    assert main(["import", "--team", "acme", str(january), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["landed"], report["file_format"]) == (7, 7, "qif")
    assert report["adds_up"]

    # The next export repeats the last coffee and adds one entry: only that one lands.
    later = downloads / "later.qif"
    later.write_text(
        "!Account\nNBusiness Checking\nTBank\n^\n!Type:Bank\n"
        "D 1/27'26\nT-4.50\nPBlue Bottle Coffee\nLMeals\n^\n"
        "D 2/ 2'26\nT-99.00\nPInternet Provider\n^\n",
        encoding="utf-8",
    )
    assert main(["import", "--team", "acme", str(later), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["landed"], report["duplicates"]) == (2, 1, 1)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(Transaction.source, Transaction.amount)).all()
    assert len(stored) == 8 and {source for source, _ in stored} == {"qif"}


@pytest.mark.parametrize(
    ("name", "entries"), [("bad_entries.qif", 7), ("two_accounts.qif", 5), ("uk_dates.qif", 3)]
)
def test_the_independent_count_sees_register_entries_only_and_a_cut_off_one(
    name: str, entries: int
) -> None:
    """The count a lost entry would show against: register entries, including one cut off at
    the end of the file, and none of the category lists or investment entries."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    assert count_entries(lines) == entries


@pytest.mark.integration
def test_a_qif_with_bad_entries_lands_the_good_ones_and_quarantines_the_rest(
    engine, app_env, tmp_path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-04-20T12:00:00+00:00")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "acme", "name": "Acme", "time_zone": "UTC", "base_currency": "USD"},
        )
    source = tmp_path / "bad_entries.qif"
    source.write_bytes((DATA / "bad_entries.qif").read_bytes())
    assert main(["import", "--team", "acme", str(source), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["landed"], report["quarantined"]) == (7, 2, 5)
    assert report["adds_up"]
