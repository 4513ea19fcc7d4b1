"""The cases from the "bank rows vanish without a trace" report, one test each: what a user
relies on when a bank file is odd (stray bytes, reused ids, far dates, links, long names)."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.defs.ingestion.files import read_import_file
from bg_agents.defs.ingestion.normalize import TeamRef, normalize
from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.lib.db.models import ImportFile, QuarantinedRow, StagedImportRow, Team, Transaction
from bg_agents_tests.helpers import stage_dropped_files

CORPUS = Path(__file__).parent / "data" / "hostile_files"
HEADER = "Transaction ID,Date,Description,Amount,Currency\n"


@pytest.fixture
def team(engine, app_env, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-20T12:00:00+00:00")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "t-eur", "name": "Eur", "time_zone": "UTC", "base_currency": "EUR"},
        )
    return "t-eur"


def _import(capsys, team: str, *paths: Path) -> list[dict]:  # type: ignore[no-untyped-def]
    code = main(["import", "--team", team, *map(str, paths), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _inbox(tmp_path: Path, team: str) -> Path:
    return tmp_path / "home" / "imports" / team


def test_a_bad_byte_does_not_change_the_ids_of_the_good_rows(tmp_path: Path) -> None:
    """One invalid byte used to decode the whole file as cp1252 ("BÃ¤ckerei"), so the same row
    from a clean export got another derived id and was stored twice."""
    clean = read_import_file(CORPUS / "utf8_clean.csv", "t", default_currency="EUR")
    damaged = read_import_file(CORPUS / "utf8_one_bad_byte.csv", "t", default_currency="EUR")
    ids = {r.external_id: r.description for r in clean.rows}
    assert "Bäckerei Müller" in ids.values()
    assert all(ids.get(r.external_id) == r.description for r in damaged.rows)
    assert len(damaged.rows) == len(clean.rows) - 1
    (bad,) = damaged.rejected
    assert "0xDF" in bad["reason"] and bad["raw"]["Description"] == "Stra\\xDFe 3"


@pytest.mark.integration
def test_a_clean_export_after_a_damaged_one_adds_only_the_missing_row(
    engine, team, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    (damaged,) = _import(capsys, team, CORPUS / "utf8_one_bad_byte.csv")
    (clean,) = _import(capsys, team, CORPUS / "utf8_clean.csv")
    assert (damaged["landed"], damaged["quarantined"]) == (6, 1)
    assert (clean["landed"], clean["duplicates"], clean["quarantined"]) == (1, 6, 0)
    with engine.connect() as conn:
        descriptions = conn.scalars(sa.select(Transaction.description)).all()
    assert len(descriptions) == 7 and "Café Crème" in descriptions


@pytest.mark.integration
def test_a_known_bank_id_with_another_amount_is_a_conflict_not_already_present(
    engine, team, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    first = _write(tmp_path / "in", "a.csv", HEADER + "TX1,2026-03-02,Coffee,-20.00,EUR\n")
    later = _write(tmp_path / "in", "b.csv", HEADER + "TX1,2026-03-03,Coffee,-999.00,EUR\n")
    _import(capsys, team, first)
    (report,) = _import(capsys, team, later)
    assert (report["landed"], report["duplicates"], report["quarantined"]) == (0, 0, 1)
    with engine.connect() as conn:
        assert conn.scalars(sa.select(Transaction.amount)).all() == [Decimal("-20.00")]
        (reason,) = conn.scalars(sa.select(QuarantinedRow.reason)).all()
    assert reason.startswith("conflicting duplicate of TX1: ")
    assert "-999" in reason and "2026-03-03" in reason
    # Ingesting both days again lands nothing and keeps each staged row's outcome.
    assert ingest_day(engine, date(2026, 3, 2)).inserted == 0
    result = ingest_day(engine, date(2026, 3, 3))
    assert (result.inserted, result.conflicts, result.duplicates) == (0, 1, 0)
    with engine.connect() as conn:
        outcomes = conn.scalars(sa.select(StagedImportRow.outcome).order_by("id")).all()
        assert conn.scalars(sa.select(Transaction.amount)).all() == [Decimal("-20.00")]
    assert outcomes == ["landed", "quarantined"]


@pytest.mark.integration
def test_a_known_bank_id_with_a_reworded_memo_is_an_identical_duplicate(
    engine, team, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    """Banks re-word memos between exports; the money facts decide whether it is the same row."""
    first = _write(tmp_path / "in", "a.csv", HEADER + "TX1,2026-03-02,CARD 1234 Coffee,-20,EUR\n")
    later = _write(tmp_path / "in", "b.csv", HEADER + "TX1,2026-03-02,Coffee Berlin,-20.00,EUR\n")
    _import(capsys, team, first)
    (report,) = _import(capsys, team, later)
    assert (report["landed"], report["duplicates"], report["quarantined"]) == (0, 1, 0)


@pytest.mark.integration
def test_a_row_dated_far_ahead_is_quarantined_instead_of_waiting_forever(
    engine, db_url, team, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _write(
        _inbox(tmp_path, team),
        "future.csv",
        HEADER + "TX1,2026-03-02,Ok,-1,EUR\nTX2,2026-03-25,Pending,-1,EUR\n"
        "TX3,2199-12-31,Typo,-1,EUR\n",
    )
    assert len(stage_dropped_files(db_url)) == 1
    with engine.connect() as conn:
        staged = sorted(conn.scalars(sa.select(StagedImportRow.booking_date)).all())
        (reason,) = conn.scalars(sa.select(QuarantinedRow.reason)).all()
    # A pending payment a few days ahead waits for its day; 2199 does not.
    assert [d.isoformat() for d in staged] == ["2026-03-02", "2026-03-25"]
    assert reason == "booking date 2199-12-31 is more than 7 days in the future"


@pytest.mark.integration
@pytest.mark.parametrize("dangling", [False, True], ids=["link", "dangling-link"])
def test_a_symlink_in_the_import_folder_is_refused_with_a_report_and_not_followed(
    engine, db_url, team, tmp_path, dangling
) -> None:  # type: ignore[no-untyped-def]
    secret = _write(tmp_path / "elsewhere", "secret.csv", HEADER + "S1,2026-03-02,X,-1,EUR\n")
    link = _inbox(tmp_path, team) / "statement.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "elsewhere" / ("gone.csv" if dangling else "secret.csv"))
    assert len(stage_dropped_files(db_url)) == 1
    failed = tmp_path / "home" / "imports" / "_failed" / team
    (report,) = failed.glob("*.error.txt")
    assert "symbolic links are not imported" in report.read_text()
    assert not link.is_symlink() and secret.read_text().startswith(HEADER)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(StagedImportRow)) == 0
    assert len(stage_dropped_files(db_url)) == 0, "nothing is left in the inbox"


@pytest.mark.integration
def test_a_244_character_file_name_is_staged_or_leaves_an_error_report(
    engine, db_url, team, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    inbox = _inbox(tmp_path, team)
    _write(inbox, "a" * 240 + ".csv", HEADER + "TX1,2026-03-02,Ok,-1,EUR\n")
    _write(inbox, "b" * 240 + ".csv", "Date,Description\n2026-03-02,no amount column\n")
    assert len(stage_dropped_files(db_url)) == 2
    processed = list((tmp_path / "home" / "imports" / "_processed" / team).iterdir())
    failed = sorted((tmp_path / "home" / "imports" / "_failed" / team).iterdir())
    assert len(processed) == 1 and len(failed) == 2
    assert "amount" in failed[-1].read_text() and failed[-1].name.endswith(".csv.error.txt")
    assert list(inbox.iterdir()) == []
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(StagedImportRow)) == 1


@pytest.mark.integration
def test_a_file_name_that_is_not_utf8_is_imported_not_stuck_in_the_sensor(
    engine, db_url, team, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Dagster cannot store a run whose tags hold undecodable bytes; such a name used to fail
    every run of the import job, so the file stayed in the inbox forever."""
    _write(
        _inbox(tmp_path, team), os.fsdecode(b"caf\xe9.csv"), HEADER + "TX1,2026-03-02,A,-1,EUR\n"
    )
    assert len(stage_dropped_files(db_url)) == 1
    with engine.connect() as conn:
        assert conn.scalars(sa.select(ImportFile.file_name)).all() == ["caf\\xe9.csv"]
    assert list(_inbox(tmp_path, team).iterdir()) == []


def test_the_plausible_amount_follows_the_currency() -> None:
    """9,999,999,999,999 EUR per row fits the column but is no bank row; a billion yen is."""
    teams = {"t": TeamRef(id=1, base_currency="EUR")}

    def row(amount: str, currency: str) -> RawTransaction:
        return RawTransaction(
            "csv", "b", amount + currency, "t", "x", "2026-03-02", amount, currency
        )

    batch = normalize(
        [
            row("9999999999999", "EUR"),
            row("-5000000000", "EUR"),
            row("999999999.99", "EUR"),
            row("5000000000", "JPY"),
            row("500000000", "KWD"),
            row("50000000000", "IDR"),
        ],
        teams,
    )
    assert [t["currency"] for t in batch.transactions] == ["EUR", "JPY", "IDR"]
    reasons = [q["reason"] for q in batch.quarantined]
    assert reasons[0] == (
        "implausible amount 9999999999999 EUR: one bank row in EUR stays under 1,000,000,000"
    )
    assert [r.split()[3].rstrip(":") for r in reasons] == ["EUR", "EUR", "KWD"]


@pytest.mark.integration
def test_the_import_command_prints_counts_and_reasons_per_file(
    engine, team, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    code = main(["import", "--team", team, str(CORPUS / "stray_quote.csv")])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == "stray_quote.csv: 200 rows: 199 landed, 0 duplicates, 1 quarantined"
    assert out[1].split() == ["1", "a", "quote", "opened", "on", "line"]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--team", "nobody", "{corpus}/utf8_clean.csv"], "unknown team 'nobody'"),
        (["--team", "t-eur", "{tmp}/missing.csv"], "missing.csv: no such file"),
        (["--team", "t-eur", "{corpus}/make_corpus.py"], "unsupported file type '.py'"),
        (["--team", "t-eur", "{tmp}/folder.csv"], "folder.csv: not a file"),
    ],
)
def test_a_users_mistake_is_one_line_and_exit_2(
    engine, team, tmp_path, capsys, argv, message
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "folder.csv").mkdir()
    args = [a.format(corpus=CORPUS, tmp=tmp_path) for a in argv]
    assert main(["import", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "home" / "imports" / "t-eur").exists(), "nothing was copied"
