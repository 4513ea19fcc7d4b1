"""Publishing a month: one version per change of figures, never rewritten, the team told once
per version with the PDF attached; a re-run writes nothing; racing writers make one version."""

from __future__ import annotations

import hashlib
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from bg_agents.defs.reports.service import publish_month
from bg_agents.defs.reports.verify import read_report
from bg_agents.lib.db.models import (
    Invoice,
    Match,
    NotificationEvent,
    Report,
    Transaction,
    UnmatchedRecord,
)
from bg_agents_tests.reports.month_data import MONTH, NOW, seed_month


def _reports(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Report.__table__).order_by(Report.version)))


def _announced(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(NotificationEvent.__table__)
                .where(NotificationEvent.category == "report.ready")
                .order_by(NotificationEvent.id)
            )
        )


def _late_booking(engine, team: int, amount: str) -> None:  # type: ignore[no-untyped-def]
    """A sale dated in the reported month that the bank delivered after its report."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Transaction).values(
                team_id=team,
                source="test",
                external_id=f"late-{amount}",
                booking_date=date(2026, 3, 30),
                amount=Decimal(amount),
                currency="USD",
                base_amount=Decimal(amount),
                description="late booking",
                category="sales",
            )
        )


def test_first_publish_writes_v1_records_it_and_tells_the_team(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team, _ = seed_month(engine)
    out = publish_month(engine, team, MONTH, NOW, str(tmp_path), run_id="run-1")
    assert (out.status, out.version) == ("written", 1)
    path = tmp_path / "acme" / "2026-03" / "v1.pdf"
    assert out.path == str(path)
    data = path.read_bytes()
    (row,) = _reports(engine)
    assert row.sha256 == hashlib.sha256(data).hexdigest() == out.sha256
    assert (row.pages, row.size_bytes, row.reason, row.run_id) == (
        read_report(data).pages,
        len(data),
        "first version",
        "run-1",
    )
    printed = read_report(data)
    assert Decimal(row.totals["revenue"]) == printed.revenue
    assert Decimal(row.totals["net"]) == printed.net
    assert row.content_sha256 == printed.content_sha256
    (event,) = _announced(engine)
    assert event.payload["attachment"]["sha256"] == row.sha256
    assert event.payload["attachment"]["path"] == str(path)
    assert event.title == "Month-end report March 2026"


def test_a_rerun_with_the_same_figures_writes_nothing(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team, _ = seed_month(engine)
    publish_month(engine, team, MONTH, NOW, str(tmp_path))
    before = sorted(p.name for p in (tmp_path / "acme" / "2026-03").iterdir())
    again = publish_month(engine, team, MONTH, NOW + timedelta(days=3), str(tmp_path))
    assert (again.status, again.version) == ("unchanged", 1)
    assert sorted(p.name for p in (tmp_path / "acme" / "2026-03").iterdir()) == before
    assert len(_reports(engine)) == 1 and len(_announced(engine)) == 1


def test_work_done_after_the_month_makes_no_new_version(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Confirming the month's open suggestion, matching its unmatched records and a partial
    payment, all after the month, change what the next report prints "as of" its generation,
    not the books: no version 2, no second e-mail."""
    team, _ = seed_month(engine)
    publish_month(engine, team, MONTH, NOW, str(tmp_path))
    later = NOW + timedelta(days=10)
    with engine.begin() as conn:
        confirmed = conn.execute(
            sa.update(Match)
            .where(Match.team_id == team, Match.status == "pending")
            .values(status="confirmed", decision="link", updated_at=later)
        ).rowcount
        matched = conn.execute(
            sa.delete(UnmatchedRecord).where(UnmatchedRecord.team_id == team)
        ).rowcount
        paid = conn.execute(
            sa.update(Invoice)
            .where(Invoice.team_id == team, Invoice.status == "open", Invoice.currency == "USD")
            .values(status="partially_paid", amount_paid=Decimal("0.50"))
        ).rowcount
    assert confirmed and matched and paid  # the live status did change
    again = publish_month(engine, team, MONTH, later, str(tmp_path))
    assert (again.status, again.version) == ("unchanged", 1)
    assert len(_reports(engine)) == 1 and len(_announced(engine)) == 1


def test_late_data_makes_version_2_and_keeps_version_1(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team, _ = seed_month(engine)
    publish_month(engine, team, MONTH, NOW, str(tmp_path))
    v1 = (tmp_path / "acme" / "2026-03" / "v1.pdf").read_bytes()
    _late_booking(engine, team, "250.00")
    out = publish_month(engine, team, MONTH, NOW + timedelta(days=5), str(tmp_path))
    assert (out.status, out.version) == ("written", 2)
    assert out.reason is not None and out.reason.startswith("late data: revenue ")
    assert (tmp_path / "acme" / "2026-03" / "v1.pdf").read_bytes() == v1
    v1_row, v2_row = _reports(engine)
    assert Decimal(v2_row.totals["revenue"]) - Decimal(v1_row.totals["revenue"]) == 250
    assert read_report((tmp_path / "acme" / "2026-03" / "v2.pdf").read_bytes()).revenue == Decimal(
        v2_row.totals["revenue"]
    )
    titles = [e.title for e in _announced(engine)]
    assert titles == ["Month-end report March 2026", "Month-end report March 2026 (version 2)"]


def test_racing_writers_make_one_version(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team, _ = seed_month(engine)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def publish() -> None:
        start.wait()
        outcomes.append(publish_month(engine, team, MONTH, NOW, str(tmp_path)).status)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) in (["raced", "written"], ["unchanged", "written"]), outcomes
    assert len(_reports(engine)) == 1 and len(_announced(engine)) == 1
    assert sorted(p.name for p in (tmp_path / "acme" / "2026-03").iterdir()) == ["v1.pdf"]


def test_the_team_gets_the_pdf_attached_to_its_email(
    engine, app_env, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """End to end through the engine: publish, then a delivery pass to a real SMTP server; the
    attachment is the stored file, byte for byte."""
    import email
    import email.policy

    from bg_agents.defs.notifications import SmtpConfig
    from bg_agents.defs.notifications.deliver import deliver
    from bg_agents.lib.db.models import User
    from bg_agents_tests.notifications.test_email_channel import Recorder, smtp_server

    team, _ = seed_month(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(User), {"team_id": team, "email": "cfo@acme.test", "name": "Ana"})
    recorder = Recorder()
    with smtp_server(recorder) as port:
        monkeypatch.setenv("BG_AGENTS_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("BG_AGENTS_SMTP_FROM", "Bot <bot@bg.test>")
        out = publish_month(engine, team, MONTH, NOW, str(tmp_path))
        config = SmtpConfig(host="127.0.0.1", port=port, security="plain", sender="bot@bg.test")
        assert deliver(engine, NOW, smtp=config).delivered["email"] == 1
    (got,) = recorder.received
    message = email.message_from_bytes(got["raw"], policy=email.policy.default)
    assert message["Subject"] == "Month-end report March 2026"
    (pdf,) = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "acme-2026-03-v1.pdf"
    assert pdf.get_content() == Path(out.path or "").read_bytes()


def test_the_announcement_speaks_the_teams_language(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db.models import Team

    team, _ = seed_month(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(Team).where(Team.id == team).values(locale="de_CH"))
    publish_month(engine, team, MONTH, NOW, str(tmp_path))
    _late_booking(engine, team, "1250.00")
    publish_month(engine, team, MONTH, NOW + timedelta(days=5), str(tmp_path))
    first, second = _announced(engine)
    assert first.title == "Monatsabschluss März 2026"
    assert first.body.startswith("Der Monatsabschluss von Acme für März 2026 liegt vor")
    assert second.title == "Monatsabschluss März 2026 (Version 2)"
    assert "seit Version 1 geändert: Einnahmen $" in second.body, second.body
    assert "Buchungen " in second.body and "→" in second.body


def test_a_slug_that_is_not_a_plain_folder_name_stays_inside_the_reports_folder(
    engine, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db.models import Team

    team, _ = seed_month(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(Team).where(Team.id == team).values(slug="../../escape"))
    out = publish_month(engine, team, MONTH, NOW, str(tmp_path / "reports"))
    assert out.path == str(tmp_path / "reports" / f"team-{team}" / "2026-03" / "v1.pdf")
    assert not (tmp_path.parent / "escape").exists()


def test_an_unknown_locale_falls_back_to_english_instead_of_failing(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.lib.db.models import Team

    team, _ = seed_month(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(Team).where(Team.id == team).values(locale="en-US"))
    assert publish_month(engine, team, MONTH, NOW, str(tmp_path)).status == "written"
    (event,) = _announced(engine)
    assert event.title == "Month-end report March 2026"
