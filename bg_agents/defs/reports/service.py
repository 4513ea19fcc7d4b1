"""Publish a team's month-end report: write a version only when the figures changed, never
rewrite one, and tell the team.

The figures' digest decides: equal to the latest version's, nothing is written (a re-run, a
backfill, a second worker). Different, version N+1 is rendered, stored at
``<base>/<team>/<YYYY-MM>/v<N+1>.pdf`` and recorded with the reason (which totals moved); version
N stays where it was. The file is written inside the transaction that inserts its row, after the
insert: the row's unique key (team, month, version) makes a racing writer wait and then fail
before it touches the file, and a failed write leaves no row. The team's ``report.ready``
notification is stored in the same transaction, its e-mail carrying the PDF.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bg_agents.defs.notifications import Event, notify
from bg_agents.defs.reports.figures import MonthFigures, figures_digest, month_figures
from bg_agents.defs.reports.render import render_pdf
from bg_agents.defs.reports.texts import Texts
from bg_agents.defs.reports.verify import read_report
from bg_agents.lib import blobs
from bg_agents.lib.db.models import Report, Team
from bg_agents.lib.locales import resolve_locale
from bg_agents.lib.money import plain_amount

CATEGORY = "report.ready"


@dataclass(frozen=True)
class Published:
    """What happened to one team's month: ``written`` (a new version), ``unchanged`` (figures
    as in version ``version``: nothing written) or ``raced`` (another writer took the version)."""

    team_slug: str
    month: date
    status: str
    version: int
    path: str | None = None
    sha256: str | None = None
    pages: int | None = None
    reason: str | None = None
    totals: dict[str, str] | None = None


def totals_of(figures: MonthFigures) -> dict[str, str]:
    c = figures.current
    return {
        "currency": figures.currency,
        "revenue": f"{c.revenue:f}",
        "expenses": f"{c.expenses:f}",
        "net": f"{c.net:f}",
        "transactions": str(c.transactions),
    }


def moved_totals(before: dict[str, str], after: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, before, after) of each printed total that changed since the previous version."""
    return [
        (name, str(before.get(name)), after[name])
        for name in ("revenue", "expenses", "net", "transactions")
        if before.get(name) != after[name]
    ]


def change_reason(before: dict[str, str], after: dict[str, str]) -> str:
    """Which printed totals moved since the previous version, in words (the recorded reason)."""
    moved = moved_totals(before, after)
    if not moved:
        return "late data changed the detail (categories, receivables, reconciliation, activity)"
    currency = after["currency"]

    def shown(name: str, value: str) -> str:
        # Money in the currency's minor units (stored with four places); counts as they are.
        if name == "transactions" or value == "None":
            return value
        return plain_amount(Decimal(value), currency)

    return "late data: " + "; ".join(
        f"{name} {shown(name, old)} -> {shown(name, new)}" for name, old, new in moved
    )


def latest_version(conn: Connection, team_id: int, month: date) -> sa.Row | None:
    """The newest version's (version, path, content_sha256, totals), or None."""
    return conn.execute(
        sa.select(Report.version, Report.path, Report.content_sha256, Report.totals)
        .where(Report.team_id == team_id, Report.month == month)
        .order_by(Report.version.desc())
        .limit(1)
    ).first()


# A slug is a folder name only when it cannot leave the reports folder or hide a file.
SAFE_FOLDER = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def _folder(team: sa.Row) -> str:
    return team.slug if SAFE_FOLDER.fullmatch(team.slug) else f"team-{team.id}"


def publish_month(
    engine: Engine,
    team_id: int,
    month: date,
    now: datetime,
    base: str,
    run_id: str | None = None,
) -> Published:
    """Render, store, record and announce a month's report if its figures changed."""
    with engine.connect() as conn:
        team = conn.execute(
            sa.select(Team.id, Team.slug, Team.name, Team.locale).where(Team.id == team_id)
        ).one()
        figures = month_figures(conn, team_id, month, now)
        latest = latest_version(conn, team_id, month)
    digest = figures_digest(figures)
    totals = totals_of(figures)
    if latest is not None and latest.content_sha256 == digest:
        return Published(team.slug, month, "unchanged", latest.version, latest.path)
    version = latest.version + 1 if latest else 1
    reason = "first version" if latest is None else change_reason(latest.totals, totals)
    moved = [] if latest is None else moved_totals(latest.totals, totals)
    pdf = render_pdf(figures, locale=team.locale, team_name=team.name, version=version)
    pages = read_report(pdf).pages
    sha256 = hashlib.sha256(pdf).hexdigest()
    path = blobs.join(base, f"{_folder(team)}/{month:%Y-%m}/v{version}.pdf")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(Report).values(
                    team_id=team_id,
                    month=month,
                    version=version,
                    path=path,
                    sha256=sha256,
                    content_sha256=digest,
                    pages=pages,
                    size_bytes=len(pdf),
                    totals=totals,
                    reason=reason,
                    run_id=run_id,
                    created_at=now,
                    delivered_at=now,
                )
            )
            blobs.write(path, pdf)
            notify(
                conn, [_announcement(team, figures, version, moved, path, sha256, len(pdf))], now
            )
    except IntegrityError:
        return Published(team.slug, month, "raced", version)
    return Published(team.slug, month, "written", version, path, sha256, pages, reason, totals)


def _announcement(
    team: sa.Row,
    figures: MonthFigures,
    version: int,
    moved: list[tuple[str, str, str]],
    path: str,
    sha256: str,
    size: int,
) -> Event:
    """The team's ``report.ready`` event, in the report's language (``texts``)."""
    locale = resolve_locale(team.locale)
    texts = Texts.of(locale.language)
    month = format_date(figures.month, "LLLL yyyy", locale=locale)
    key = "mail_title_version" if version > 1 else "mail_title"
    title = texts(key, month=month, version=version)
    body = texts("mail_body", team=team.name, month=month)
    if version > 1:

        def shown(name: str, value: str) -> str:
            if name == "transactions":
                return format_decimal(int(value), locale=locale)
            return format_currency(Decimal(value), figures.currency, locale=locale)

        what = "; ".join(
            f"{texts(name)} {shown(name, old)} → {shown(name, new)}" for name, old, new in moved
        )
        reason = what or texts("mail_detail_changed")
        body += " " + texts("mail_new_version", previous=version - 1, reason=reason)
    filename = f"{team.slug}-{figures.month:%Y-%m}-v{version}.pdf"
    return Event(
        key=f"report:{team.id}:{figures.month:%Y-%m}:v{version}",
        team_id=team.id,
        category=CATEGORY,
        title=title,
        body=body,
        payload={
            "month": f"{figures.month:%Y-%m}",
            "version": version,
            "attachment": {
                "path": path,
                "filename": filename,
                "media_type": "application/pdf",
                "sha256": sha256,
                "size": size,
            },
        },
    )
