"""A file dropped in the import folder reaches `transactions` through both sensors; bad input is
quarantined with reasons, good rows still land, and a broken file is moved aside with a report."""

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.ingestion.sensors import import_folder_sensor, staged_rows_sensor
from bg_agents.lib.db.models import (
    ImportFile,
    NotificationEvent,
    QuarantinedRow,
    StagedImportRow,
    Team,
    Transaction,
)
from bg_agents_tests.helpers import materialize, stage_dropped_files

DATA = Path(__file__).parent / "data" / "imports"

CSV = """Transaction ID,Date,Description,Payee,Amount,Currency
A-1,2026-03-02,Coffee,Blue Bottle,-4.50,USD
A-2,2026-03-02,Coffee,Blue Bottle,-4.50,USD
A-3,2026-13-40,Broken date,Someone,-1.00,USD
A-4,2026-03-03,Broken amount,Someone,twelve,USD
A-5,2026-03-03,Unknown currency,Someone,-3.00,ZZZ
A-6,2026-03-04,Client payment,Acme,"1,250.00",USD
"""


@pytest.fixture
def team(engine, app_env) -> str:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "t-acme", "name": "Acme", "time_zone": "UTC", "base_currency": "USD"},
        )
    return "t-acme"


def _import_dir(tmp_path: Path) -> Path:
    return tmp_path / "home" / "imports"


def _drop(tmp_path: Path, team: str, name: str, content: str | bytes) -> Path:
    folder = _import_dir(tmp_path) / team
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    path.write_bytes(data)
    return path


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model)).scalar()


@pytest.mark.integration
def test_csv_flows_from_folder_to_transactions_with_bad_rows_quarantined(
    engine, db_url, team, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = _drop(tmp_path, team, "march.csv", CSV)
    (request,) = stage_dropped_files(db_url)
    assert "march.csv" in request.run_key
    assert not path.exists(), "a staged file leaves the inbox"
    assert len(list((_import_dir(tmp_path) / "_processed" / team).iterdir())) == 1
    idle = import_folder_sensor(dg.build_sensor_context())
    assert idle.run_requests == [] and "no file waiting in" in idle.skip_reason.skip_message

    db = AppDatabase(url=db_url)
    tick = staged_rows_sensor(dg.build_sensor_context(resources={"app_db": db}))
    keys = sorted(r.partition_key for r in tick.run_requests)
    assert keys == ["2026-03-02", "2026-03-03", "2026-03-04"]
    again = staged_rows_sensor(
        dg.build_sensor_context(cursor=tick.cursor, resources={"app_db": db})
    )
    assert again.run_requests == [] and again.skip_reason

    for key in keys:
        assert materialize(db_url, ["transactions"], key).success
    with engine.connect() as conn:
        amounts = conn.execute(
            sa.select(Transaction.external_id, Transaction.amount).order_by(Transaction.external_id)
        ).all()
        reasons = dict(conn.execute(sa.select(QuarantinedRow.row_ref, QuarantinedRow.reason)).all())
    # Two identical coffees stay two transactions; the thousands separator is understood.
    assert [(e, str(a)) for e, a in amounts] == [
        ("A-1", "-4.5000"),
        ("A-2", "-4.5000"),
        ("A-6", "1250.0000"),
    ]
    assert set(reasons) == {"3", "4", "5"}  # data row numbers in the file
    assert "2026-13-40" in reasons["3"] and "twelve" in reasons["4"]
    assert reasons["5"] == "unknown currency 'ZZZ'"

    # The same export dropped again stages nothing new and lands nothing twice.
    _drop(tmp_path, team, "march-again.csv", CSV)
    stage_dropped_files(db_url)
    assert _count(engine, ImportFile) == 1 and _count(engine, StagedImportRow) == 4
    for key in keys:
        materialize(db_url, ["transactions"], key)
    assert _count(engine, Transaction) == 3 and _count(engine, QuarantinedRow) == 3


@pytest.mark.integration
def test_ofx_file_lands_with_account_scoped_ids(engine, db_url, team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = DATA / "checking_v1.qfx"
    path = _drop(tmp_path, team, src.name, src.read_bytes())
    stage_dropped_files(db_url)
    assert not path.exists()
    with engine.connect() as conn:
        days = sorted(conn.scalars(sa.select(StagedImportRow.booking_date).distinct()).all())
    assert days
    for day in days:
        assert materialize(db_url, ["transactions"], day.isoformat()).success
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Transaction.source, Transaction.external_id, Transaction.counterparty)
        ).all()
    assert rows and all(s == "ofx" and ":" in e for s, e, _ in rows)
    # The file is cp1252 (as its header says): accents and entities survive the trip.
    assert "CAFÉ DE FLORE & CO" in {c for _, _, c in rows}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("team_folder", "name", "text", "reason"),
    [
        ("t-acme", "no-amount.csv", "Date,Description\n2026-03-02,Coffee\n", "amount"),
        ("t-acme", "broken.ofx", "OFXHEADER:100\nthis is not ofx\n", "OFX"),
        ("t-nobody", "x.csv", CSV, "unknown team folder 't-nobody'"),
    ],
)
def test_unreadable_file_is_moved_aside_with_an_error_report_and_nothing_staged(
    engine, db_url, team, tmp_path, team_folder, name, text, reason
) -> None:  # type: ignore[no-untyped-def]
    _drop(tmp_path, team_folder, name, text)
    stage_dropped_files(db_url)
    failed = _import_dir(tmp_path) / "_failed" / team_folder
    moved = [p for p in failed.iterdir() if not p.name.endswith(".error.txt")]
    reports = [p for p in failed.iterdir() if p.name.endswith(".error.txt")]
    assert len(moved) == 1 and moved[0].read_text(encoding="utf-8") == text
    assert len(reports) == 1 and reason in reports[0].read_text(encoding="utf-8")
    assert _count(engine, StagedImportRow) == 0


def test_a_file_another_team_imported_is_refused_with_the_reason_and_nothing_said(
    engine, db_url, team, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The same content dropped for a second team reported "3 landed" and told that team so
    by notification, though its rows were the first team's and none landed."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "t-other", "name": "Other", "time_zone": "UTC", "base_currency": "USD"},
        )
    _drop(tmp_path, team, "march.csv", CSV)
    stage_dropped_files(db_url)
    staged = _count(engine, StagedImportRow)
    _drop(tmp_path, "t-other", "copy.csv", CSV)
    stage_dropped_files(db_url)
    assert _count(engine, StagedImportRow) == staged
    (report,) = (_import_dir(tmp_path) / "_failed" / "t-other").glob("*.error.txt")
    assert "the same content was imported into team 't-acme'" in report.read_text()
    with engine.connect() as conn:
        told = conn.execute(
            sa.select(NotificationEvent.team_id).join(Team, Team.id == NotificationEvent.team_id)
            .where(Team.slug == "t-other")
        ).all()  # fmt: skip
    assert told == []
