"""`bg-agents match` reads a bank export the way `bg-agents import` does: a file without the
matcher's own columns (German headers under title lines, a debit/credit flag, an MT940 statement)
is matched, not refused; a file neither reader can use gets the matcher's own column error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bg_agents_tests.reconciliation.match_cli import read_pairs, run, write

DATA = Path(__file__).resolve().parents[1] / "ingestion" / "data"

LEDGER = (
    "id,date,amount,name,currency\n"
    "INV-44,2024-02-02,4760.00,Hoffmann Logistik GmbH,EUR\n"
    "BILL-7,2024-02-05,59.95,Deutsche Telekom,EUR\n"
)
# A savings bank's export: title lines above the header, German headers, a decimal comma, the
# sign in an S/H (Soll/Haben: debit/credit) column, one entry not booked yet.
BANK = (
    "Umsatzanzeige Girokonto\n"
    "Konto: DE02120300000000202051;Zeitraum: 01.02.2024 - 29.02.2024\n"
    "\n"
    "Buchungstag;Valuta;Auftraggeber/Empfänger;Verwendungszweck;Betrag (EUR);S/H\n"
    "02.02.2024;02.02.2024;Hoffmann Logistik GmbH;RE 2024-0044;4.760,00;H\n"
    "06.02.2024;05.02.2024;Deutsche Telekom AG;Kd-Nr 5511 Rechnung Januar;59,95;S\n"
    "07.02.2024;07.02.2024;Stadtwerke;Abschlag Februar;120,00;S\n"
)


def test_a_bank_export_with_title_lines_and_a_debit_credit_flag_is_matched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left, right = write(tmp_path, "ledger.csv", LEDGER), write(tmp_path, "bank.csv", BANK)
    out = tmp_path / "pairs.csv"
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 0, stderr
    assert "right           3 rows" in stdout
    # The summary says how the file was read, so a surprise is visible.
    assert "read as a bank export (csv: date=Buchungstag" in stdout and "S/H" in stdout
    found = {(p["left_id"], p["right_id"]): p for p in read_pairs(out)}
    # A row without an id of its own is named by its place among the export's entries.
    assert set(found) == {("INV-44", "row 1"), ("BILL-7", "row 2")}
    assert all(p["decision"] == "auto" for p in found.values())
    # The S/H flag signs the amounts; the decimal comma and the dates are read as the import
    # reads them.
    assert found[("INV-44", "row 1")]["right_amount"] == "4760.00"
    assert found[("BILL-7", "row 2")]["right_amount"] == "-59.95"
    assert found[("BILL-7", "row 2")]["right_date"] == "2024-02-06"
    assert found[("BILL-7", "row 2")]["right_name"] == "Deutsche Telekom AG"


def test_entries_not_booked_are_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A savings bank's export marks a pending entry ("Umsatz vorgemerkt"): no payment yet."""
    left = write(tmp_path, "ledger.csv", LEDGER)
    out = tmp_path / "pairs.csv"
    right = DATA / "csv_exports" / "sparkasse_camt.csv"  # 4 entries, 1 not booked
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 0, stderr
    assert "right           3 rows" in stdout


def test_an_mt940_statement_is_matched_by_the_banks_own_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = write(
        tmp_path,
        "invoices.csv",
        "id,date,amount,name,reference,currency\n"
        "INV-2025-017,2025-02-01,1250.00,Van Dijk BV,INV-2025-017,EUR\n",
    )
    out = tmp_path / "pairs.csv"
    code, _, stderr = run(
        capsys, "--left", left, "--right", DATA / "mt940" / "plain.sta", "--out", out
    )
    assert code == 0, stderr
    [pair] = read_pairs(out)
    assert pair["left_id"] == "INV-2025-017" and pair["right_amount"] == "1250.00"
    # The bank's reference of the entry (after its account), not a position in the file.
    assert pair["right_id"] == "NL91ABNA0417164300:B5020400007"


def test_a_file_neither_reader_can_use_gets_the_matchers_column_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = write(tmp_path, "ledger.csv", LEDGER)
    right = write(tmp_path, "notes.csv", "foo,bar\n1,2\n")
    out = tmp_path / "pairs.csv"
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 2 and stdout == ""
    assert stderr.startswith("bg-agents: error: notes.csv: no column for id, date, amount, name")
    assert "mapping file" not in stderr  # the import's own advice would not apply here
    assert not out.exists()


def test_a_bank_exports_unreadable_entries_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = write(tmp_path, "ledger.csv", LEDGER)
    right = write(tmp_path, "bank.csv", BANK.replace("59,95", "59,9x"))
    out = tmp_path / "pairs.csv"
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 2
    assert "bank.csv: 1 of 3 entries cannot be read" in stderr
    assert "row 2: bad amount '59,9x'" in stderr
    assert "so it was read as a bank export" in stderr and "a map naming columns" in stderr
    assert not out.exists()


def test_a_column_map_is_never_second_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a map, the file is read by it: a wrong map is reported, not routed elsewhere."""
    left = write(tmp_path, "ledger.csv", LEDGER)
    right = write(tmp_path, "bank.csv", BANK)
    out = tmp_path / "pairs.csv"
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out,
                          "--right-map", "id=Valuta")  # fmt: skip
    assert code == 2 and "bank.csv: no column for date, amount, name" in stderr


def test_a_title_above_the_matchers_own_header_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = write(tmp_path, "ledger.csv", "Open items, February 2024\n\n" + LEDGER)
    right = write(tmp_path, "bank.csv", BANK)
    out = tmp_path / "pairs.csv"
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 0, stderr
    assert "left            2 rows" in stdout
    assert {p["left_id"] for p in read_pairs(out)} == {"INV-44", "BILL-7"}


def test_a_ledger_with_a_misspelt_header_is_not_taken_for_a_bank_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The import would read its date and amount, but with no name to match by: the matcher's
    own error, naming the missing column, is the one that helps."""
    left = write(tmp_path, "ledger.csv", LEDGER.replace(",name,", ",nmae,"))
    right = write(tmp_path, "bank.csv", BANK)
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", tmp_path / "p.csv")
    assert code == 2
    assert stderr.startswith("bg-agents: error: ledger.csv: no column for name.")


def test_a_maps_options_alone_still_read_a_bank_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dates that read both ways are settled by a JSON map holding only date_format."""
    bank = "Datum;Betrag;Verwendungszweck\n03/02/2024;4760,00;Hoffmann\n05/02/2024;-59,95;Telekom\n"
    right = write(tmp_path, "bank.csv", bank)
    left = write(tmp_path, "ledger.csv", LEDGER)
    out = tmp_path / "pairs.csv"
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out,
                          "--currency", "EUR")  # fmt: skip
    assert code == 2 and "could be day/month or month/day" in stderr
    assert """--left-map '{"date_format": "%d.%m.%Y"}'""" in stderr  # the way to say it here
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out", out,
                               "--currency", "EUR", "--right-map", '{"date_format": "%d/%m/%Y"}',
                               "--json")  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["right_read_as"].startswith("csv: date=Datum")
    dates = {p["right_id"]: p["right_date"] for p in read_pairs(out)}
    assert dates == {"row 1": "2024-02-03", "row 2": "2024-02-05"}


def test_a_statement_whose_balances_do_not_add_up_is_matched_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entry is missing from it: the ledger row it pays would look merely unmatched."""
    left = write(tmp_path, "ledger.csv", LEDGER)
    right = DATA / "mt940" / "lost_entry.sta"
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", tmp_path / "p.csv")
    assert code == 0
    assert stderr.startswith("bg-agents: warning: lost_entry.sta: the balances do not add up")
    assert "difference -20.00" in stderr


def test_an_entry_exported_twice_is_matched_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ids repeat in overlapping exports: the import keeps the first, and so does match."""
    bank = (
        "Transaction ID,Booking Date,Description,Amount,Currency\n"
        "A,2024-02-02,Hoffmann Logistik GmbH,4760.00,EUR\n"
        "A,2024-02-02,Hoffmann Logistik GmbH,4760.00,EUR\n"
        "A (2),2024-02-06,Deutsche Telekom AG,-59.95,EUR\n"
        ",2024-02-07,Stadtwerke,-120.00,EUR\n"
    )
    left = write(tmp_path, "ledger.csv", LEDGER)
    right = write(tmp_path, "bank.csv", bank)
    out = tmp_path / "p.csv"
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 0, stderr
    assert "right           3 rows" in stdout
    assert "1 entries repeat a bank id given before" in stderr
    assert {p["right_id"] for p in read_pairs(out)} == {"A", "A (2)"}


def test_a_bank_export_nothing_settles_is_refused_with_the_column_map_that_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Kuwaiti account's whole-dinar amounts ("1,234": 1234 or 1.234 KWD?) were refused with
    the import's fix (a mapping file beside the file), which `match` does not read."""
    left = write(
        tmp_path, "ledger.csv", "id,date,amount,name,currency\nI1,2026-03-02,1.2340,A,KWD\n"
    )
    right = write(tmp_path, "bank.csv", 'Buchungstag,Verwendungszweck,Betrag,Waehrung\n'
                                        '2026-03-02,A,"1,234",KWD\n')  # fmt: skip
    out = tmp_path / "pairs.csv"
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 2
    assert "could be 1234 or 1.234 KWD" in stderr and "mapping file" not in stderr
    assert 'give {"decimal": "," (or ".")} as this file\'s column map' in stderr
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out,
                          "--right-map", '{"decimal": ","}')  # fmt: skip
    assert code == 0, stderr
    (pair,) = read_pairs(out)  # the dinar and its quarter, read as the map says
    assert (pair["left_id"], pair["right_id"], pair["right_amount"]) == ("I1", "row 1", "1.234")
