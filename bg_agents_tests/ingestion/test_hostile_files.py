"""The import invariant on a corpus of hostile bank files, through `bg-agents import`.

Every row of every file ends in exactly one of: landed, identical duplicate, or quarantined with
a reason; the file's report shows counts adding up to its rows; a file that cannot be read at all
is refused whole with an error report and stages nothing. The corpus and what each file must
become are in ``data/hostile_files`` (``make_corpus.py`` writes both).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.lib.db.models import ImportFile, QuarantinedRow, StagedImportRow, Team, Transaction

CORPUS = Path(__file__).parent / "data" / "hostile_files"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORPUS / "expected.json").read_text())
TEAM = "hostile"


@pytest.fixture
def hostile_team(engine, app_env, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-20T12:00:00+00:00")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": TEAM, "name": "Hostile", "time_zone": "UTC", "base_currency": "EUR"},
        )
    return TEAM


def test_the_corpus_has_at_least_twenty_kinds_of_hostile_file() -> None:
    assert len(EXPECTED) >= 20
    assert {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".ofx")} == set(EXPECTED)


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n[:40])
def test_every_row_lands_is_a_duplicate_or_is_quarantined_with_a_reason(
    engine, hostile_team, tmp_path, capsys, name
) -> None:  # type: ignore[no-untyped-def]
    expected = EXPECTED[name]
    source = tmp_path / "downloads" / name
    source.parent.mkdir()
    shutil.copyfile(CORPUS / name, source)

    code = main(["import", "--team", hostile_team, str(source), "--json"])
    out = capsys.readouterr()
    (report,) = json.loads(out.out)
    assert "Traceback" not in out.err
    assert source.read_bytes() == (CORPUS / name).read_bytes(), "the user's file is untouched"

    with engine.connect() as conn:
        landed = conn.scalar(sa.select(sa.func.count()).select_from(Transaction))
        staged = conn.execute(sa.select(StagedImportRow.outcome)).scalars().all()
        reasons = conn.execute(sa.select(QuarantinedRow.reason)).scalars().all()
        files = conn.execute(sa.select(ImportFile.rows_total)).scalars().all()

    if expected["status"] == "failed":
        assert code == 1 and report["status"] == "failed" and report["error"]
        failed = tmp_path / "home" / "imports" / "_failed" / hostile_team
        assert [p for p in failed.iterdir() if p.name.endswith(".error.txt")]
        assert landed == 0 and staged == [] and files == []
        return

    assert code == 0, out.err
    counts = {k: report[k] for k in ("rows", "landed", "duplicates", "quarantined", "waiting")}
    assert counts == {
        "rows": expected["rows"],
        "landed": expected.get("landed", 0),
        "duplicates": expected.get("duplicates", 0),
        "quarantined": expected.get("quarantined", 0),
        "waiting": 0,
    }
    assert report["adds_up"]
    # The report agrees with the database: what landed is stored, nothing waits in staging, and
    # every quarantined row has its reason.
    assert landed == report["landed"] and None not in staged and files == [report["rows"]]
    assert len(reasons) >= report["quarantined"] and all(reasons)
    if "reason" in expected:
        assert any(str(expected["reason"]) in r for r in reasons), reasons
