"""``bg-agents reports``, run in-process against the test's own database (SQLite and PostgreSQL):
render publishes (once per change of figures) and prints what a reader checks, --out only
draws, list shows every version; a wrong slug, month or a month still running is one line."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.cli import main
from bg_agents.defs.reports import read_report
from bg_agents.lib.db.models import Report, Transaction
from bg_agents_tests.reports.month_data import NOW, seed_month


@pytest.fixture
def cli(app_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``bg-agents`` with the clock after March 2026 in New York; (code, stdout, stderr)."""
    monkeypatch.setenv("BG_AGENTS_NOW", NOW.isoformat())

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run


def _rows(engine: Engine) -> list:  # type: ignore[type-arg]
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Report.version, Report.path, Report.sha256)))


def test_render_publishes_once_and_prints_what_it_stored(cli, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_month(engine)
    code, out, _ = cli("reports", "render", "--team", "acme", "--month", "2026-03")
    assert code == 0, out
    ((version, path, sha256),) = _rows(engine)
    assert path == str(tmp_path / "home" / "reports" / "acme" / "2026-03" / "v1.pdf")
    assert "acme 2026-03 v1: written, the team is told" in out
    assert f"path      {path}" in out and f"sha256    {sha256}" in out
    assert f"pages     {read_report(Path(path).read_bytes()).pages}" in out
    assert "revenue   3545.10 USD" in out and "net       3024.59 USD" in out

    code, out, _ = cli("reports", "render", "--team", "acme", "--month", "2026-03")
    assert code == 0 and "v1: unchanged" in out and len(_rows(engine)) == 1

    with engine.begin() as conn:  # a late booking: version 2, version 1 kept
        conn.execute(
            sa.insert(Transaction).values(
                team_id=conn.scalar(sa.select(Report.team_id)),
                source="late",
                external_id="x",
                booking_date=date(2026, 3, 30),
                amount=Decimal("10.00"),
                currency="USD",
                base_amount=Decimal("10.00"),
            )
        )
    cli("reports", "render", "--team", "acme", "--month", "2026-03")
    code, out, _ = cli("reports", "list", "--team", "acme", "--json")
    listed = json.loads(out)
    assert [(v["month"], v["version"]) for v in listed] == [("2026-03", 1), ("2026-03", 2)]
    assert listed[0]["sha256"] == sha256 and listed[0]["reason"] == "first version"
    assert (
        listed[1]["reason"] == "late data: revenue 3545.10 -> 3555.10; net 3024.59 -> 3034.59; "
        "transactions 9 -> 10"
    )
    assert set(listed[0]) == {
        "month",
        "version",
        "created",
        "pages",
        "sha256",
        "reason",
        "path",
        "totals",
    }
    code, out, _ = cli("reports", "list", "--team", "acme")
    assert code == 0 and "2026-03    2" in out and "late data: revenue" in out


def test_render_out_only_draws_the_file(cli, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed_month(engine)
    target = tmp_path / "look.pdf"
    code, out, _ = cli(
        "reports", "render", "--team", "acme", "--month", "2026-03", "--out", str(target)
    )
    assert code == 0 and "nothing recorded or sent" in out
    assert read_report(target.read_bytes()).revenue == Decimal("3545.10")
    assert _rows(engine) == [] and not (tmp_path / "home" / "reports").exists()
    code, out, _ = cli("reports", "list", "--team", "acme")
    assert (code, out.strip()) == (0, "acme: no month-end report yet")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--team", "nobody", "--month", "2026-03"), "unknown team 'nobody'"),
        (("--team", "acme", "--month", "2026-3x"), "--month must be YYYY-MM (e.g. 2026-03)"),
        (("--team", "acme", "--month", "2026-13"), "--month must be YYYY-MM"),
        (("--team", "acme", "--month", "2026-04"), "2026-04 has not ended in America/New_York"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(cli, engine, args, message) -> None:  # type: ignore[no-untyped-def]
    seed_month(engine)
    code, out, err = cli("reports", "render", *args)
    assert code == 2 and out == ""
    assert err.startswith("bg-agents: error: ") and message in err and err.count("\n") == 1
    assert _rows(engine) == []
