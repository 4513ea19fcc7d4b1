"""`bg-agents import --detect` describes a file without importing it, and an old statement's rows
from before the history start are summarized once, with the setting that includes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.lib.db.models import ImportFile, QuarantinedRow, Team, Transaction

GERMAN = (
    "Buchungstag;Verwendungszweck;Betrag;Währung\n"
    "02.03.2026;Miete März;-1.200,00;EUR\n"
    "13.03.2026;Kunde A RE-1001;500,00;EUR\n"
    "14.03.2026;Kunde B;kaputt;EUR\n"
)


@pytest.fixture
def team(engine, app_env, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-20T12:00:00+00:00")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "t-eur", "name": "Eur", "time_zone": "UTC", "base_currency": "EUR"},
        )
    return "t-eur"


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(model))


def test_detect_describes_a_file_and_imports_nothing(engine, team, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "konto.csv"
    path.write_text(GERMAN, encoding="utf-8")

    assert main(["import", "--detect", str(path), "--json"]) == 0
    (found,) = json.loads(capsys.readouterr().out)
    assert found["recognized"] and found["file_format"] == "csv"
    assert (found["rows"], found["readable"], found["unreadable"]) == (3, 2, 1)
    assert (found["first_date"], found["last_date"]) == ("2026-03-02", "2026-03-13")
    assert found["currencies"] == ["EUR"]
    assert path.exists(), "the user's file stays where it is"
    assert _count(engine, ImportFile) == 0 and _count(engine, Transaction) == 0

    assert main(["import", "--detect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "konto.csv: csv" in text and "2026-03-02 to 2026-03-13" in text
    assert "nothing was imported" in text


def test_detect_says_why_a_file_is_unreadable_and_exits_1(engine, team, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "notes.csv"
    path.write_text("hello;world\nfoo;bar\n", encoding="utf-8")
    assert main(["import", "--detect", "--team", team, str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("notes.csv: not readable: could not find the date")


def test_detect_exits_1_when_no_entry_of_a_file_reads(engine, team, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Every amount unreadable: the file would import nothing, yet detect exited 0."""
    path = tmp_path / "bad.csv"
    path.write_text("Date,Description,Amount\n2026-03-02,A,twelve\n2026-03-03,B,ten\n")
    assert main(["import", "--detect", "--team", team, str(path)]) == 1
    assert "0 readable, 2 not" in capsys.readouterr().out


def test_detect_without_a_team_points_to_team_for_the_currency(
    engine, team, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "no_currency.csv"
    path.write_text("Date,Description,Amount\n2026-03-02,Coffee,-4.50\n", encoding="utf-8")
    assert main(["import", "--detect", str(path)]) == 1
    assert "pass --team SLUG" in capsys.readouterr().out
    assert main(["import", "--detect", "--team", team, str(path)]) == 0


def test_import_without_team_is_a_one_line_error(engine, team, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "a.csv"
    path.write_text(GERMAN, encoding="utf-8")
    assert main(["import", str(path)]) == 2
    assert "--team is required" in capsys.readouterr().err


def _old_statement(tmp_path: Path) -> Path:
    lines = ["Date,Description,Amount,Currency"]
    lines += [f"2024-11-{day:02d},Old row {day},-{day}.00,EUR" for day in range(4, 29)]
    lines += ["2026-03-02,New row,-7.00,EUR", "2026-03-03,Another,-8.00,EUR"]
    path = tmp_path / "statement.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rows_before_the_history_start_are_summarized_once_with_the_setting(
    engine, team, tmp_path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_HISTORY_START", "2026-01-05")
    path = _old_statement(tmp_path)
    assert main(["import", "--team", team, str(path), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["landed"] == 2 and report["quarantined"] == 25 and report["adds_up"]
    assert report["before_history"] == {
        "rows": 25,
        "first": "2024-11-04",
        "last": "2024-11-28",
        "history_start": "2026-01-05",
        "setting": "BG_AGENTS_HISTORY_START=2024-11-04",  # 2024-11-04 is a Monday
    }
    assert report["reasons"] == {"booked before BG_AGENTS_HISTORY_START": 25}
    (note,) = report["notes"]
    assert "25 row(s) dated 2024-11-04 to 2024-11-28" in note and "import the file again" in note

    assert main(["import", "--team", team, str(path)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("BG_AGENTS_HISTORY_START=2024-11-04") == 1, printed


def test_following_the_setting_brings_the_old_rows_in_and_the_report_still_adds_up(
    engine, team, tmp_path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_HISTORY_START", "2026-01-05")
    path = _old_statement(tmp_path)
    assert main(["import", "--team", team, str(path), "--json"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("BG_AGENTS_HISTORY_START", "2024-11-04")
    assert main(["import", "--team", team, str(path), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["landed"], report["quarantined"], report["rows"]) == (27, 0, 27)
    assert report["adds_up"] and report["before_history"] is None and report["notes"] == []
    assert _count(engine, Transaction) == 27 and _count(engine, QuarantinedRow) == 0


def test_importing_the_same_file_again_says_nothing_new_landed(
    engine, team, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "konto.csv"
    path.write_text(GERMAN, encoding="utf-8")
    assert main(["import", "--team", team, str(path)]) == 0
    first = capsys.readouterr().out
    assert first.startswith("konto.csv: 3 rows: 2 landed")
    path.write_text(GERMAN, encoding="utf-8")  # the import moved it away; dropped again
    assert main(["import", "--team", team, str(path)]) == 0
    again = capsys.readouterr().out
    assert again.startswith("konto.csv: imported before (the same content), nothing new; then ")
    assert _count(engine, Transaction) == 2
