"""Stage a dropped bank file: parse it, keep its rows until their ``transactions`` partition runs.

Files go into ``<import_dir>/<team-slug>/``. A file is keyed by its content hash, so dropping the
same export twice stages nothing new. Rows that cannot be read go to quarantine with the reason; a
file that cannot be read at all moves to ``_failed/`` beside an ``.error.txt`` report. Nothing is
dropped silently.

Symbolic links are refused (moved aside with a report, never followed): a link would let a team
folder read any file the service can. Team folders that are themselves links are not scanned.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.ingestion.files import ParsedFile, read_import_file
from bg_agents.defs.ingestion.formats import SUPPORTED_SUFFIXES, ImportFileError, load_mapping
from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.defs.ingestion.transactions import QUARANTINE_KEY
from bg_agents.defs.notifications import Event, Words, notify
from bg_agents.lib import clock
from bg_agents.lib.db.models import ImportFile, QuarantinedRow, StagedImportRow, Team
from bg_agents.lib.db.types import utcnow
from bg_agents.lib.db.upsert import insert_missing

PROCESSED = "_processed"
FAILED = "_failed"
# Banks list pending card payments a few days ahead; a row dated further out than this is a
# typo or a hostile file, and would otherwise wait in staging for a partition that never comes.
FUTURE_DAYS = 7
# The reason of rows an old statement holds from before the history start: kept aside (not lost),
# and summarized once per file with the setting that would include them (``before_history``).
BEFORE_HISTORY = "booked before BG_AGENTS_HISTORY_START"
# File names are limited to 255 bytes; the timestamp or hash prefix and ".error.txt" must fit.
MAX_NAME_BYTES = 200


@dataclass
class StageResult:
    file_name: str
    team: str
    status: str  # staged | already_imported | failed
    moved_to: Path
    rows_staged: int = 0
    rows_rejected: int = 0
    dates: list[date] = field(default_factory=list)
    error: str | None = None
    sha256: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # what ImportFile.details holds


def pending_files(import_dir: Path) -> list[Path]:
    """Files waiting in team folders (``_processed``/``_failed`` and hidden entries skipped).

    Symbolic links are listed (even dangling ones) so that staging refuses them with a report
    instead of leaving them in the inbox unexplained. A name that is not valid UTF-8 is renamed
    to its ``\\xNN`` spelling first: Dagster cannot record a run, tag or run key holding it, so
    the sensor would fail on every tick and no file would be imported.
    """
    if not import_dir.is_dir():
        return []
    return sorted(
        _renamed_printable(p)
        for team_dir in import_dir.iterdir()
        if team_dir.is_dir()
        and not team_dir.is_symlink()
        and not team_dir.name.startswith(("_", "."))
        for p in team_dir.iterdir()
        if (p.is_symlink() or p.is_file())
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not p.name.startswith(".")
    )


# PostgreSQL stores neither NUL in text or JSON nor lone surrogates (undecodable bytes); one such
# character would fail the whole file's transaction, leaving it in the inbox without a report.
_UNSTORABLE = re.compile("[\x00\udc80-\udcff]")


def _storable(value: Any) -> Any:
    """A quarantined row's raw cells with NUL and undecodable bytes spelled ``\\xNN``."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: f"\\x{ord(m[0]) & 0xFF:02X}", value)
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _printable(name: str) -> str:
    """A file name as storable text: bytes that were not UTF-8 shown as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _renamed_printable(path: Path) -> Path:
    printable = _printable(path.name)
    if printable == path.name:
        return path
    target = path.with_name(safe_name(printable))
    try:
        if not target.exists() and not target.is_symlink():
            path.rename(target)
            return target
    except OSError:
        pass
    return path  # staging still reads it (or refuses it) under its old name


def safe_name(name: str, prefix: str = "") -> str:
    """``prefix + name``, shortened (suffix and a hash of the full name kept) to fit a folder."""
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) + len(prefix.encode()) <= MAX_NAME_BYTES:
        return prefix + name
    suffix = Path(name).suffix[:16]
    digest = hashlib.sha256(encoded).hexdigest()[:10]
    room = MAX_NAME_BYTES - len(prefix.encode()) - len(suffix.encode()) - len(digest) - 1
    head = encoded[: max(room, 0)].decode("utf-8", "ignore")
    return f"{prefix}{head}~{digest}{suffix}"


def _move(path: Path, folder: Path, prefix: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(path.name, prefix)
    shutil.move(str(path), target)
    return target


def _fail(path: Path, import_dir: Path, team: str, reason: str) -> StageResult:
    """Move the file (a link itself, never its target) aside and always leave a report."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%S-")
    folder = import_dir / FAILED / safe_name(team)
    try:
        target = _move(path, folder, stamp)
    except OSError as exc:
        # The report still gets written; the file stays where it is and is tried again.
        reason += f"\n(the file could not be moved aside: {exc.strerror or exc})"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe_name(path.name, stamp)
    target.with_name(target.name + ".error.txt").write_text(
        f"{path.name} could not be imported:\n{reason}\n",
        encoding="utf-8",
        errors="backslashreplace",
    )
    return StageResult(_printable(path.name), team, "failed", target, error=reason)


def stage_file(engine: Engine, path: Path, import_dir: Path, history_start: date) -> StageResult:
    team_slug = path.parent.name
    if path.is_symlink():
        return _fail(
            path,
            import_dir,
            team_slug,
            "symbolic links are not imported (they could point anywhere): copy the file itself "
            "into the team folder",
        )
    team = None
    if _printable(team_slug) == team_slug:  # a folder name with undecodable bytes is no slug
        with engine.connect() as conn:
            team = conn.execute(
                sa.select(Team.id, Team.base_currency).where(Team.slug == team_slug)
            ).first()
    if team is None:
        return _fail(
            path,
            import_dir,
            team_slug,
            f"unknown team folder {team_slug!r}: put the file in a folder named after a team "
            "slug (`bg-agents teams` lists them)",
        )
    try:
        parsed = read_import_file(
            path, team_slug, mapping=load_mapping(path), default_currency=team.base_currency
        )
    except (ImportFileError, ValueError) as exc:
        return _fail(path, import_dir, team_slug, str(exc))
    except OSError as exc:  # the file system refused something: still leave a report
        return _fail(path, import_dir, team_slug, f"cannot read the file: {exc.strerror or exc}")

    elsewhere = _imported_elsewhere(engine, parsed.sha256, team.id)
    if elsewhere is not None:
        return _fail(path, import_dir, team_slug, elsewhere)
    staged, rejected = _screen_rows(parsed, history_start)
    details = {
        "layout": parsed.layout,
        "balances": [b.as_dict() for b in parsed.balances],
        "before_history": before_history(parsed, history_start),
    }
    new_rows = _store(engine, parsed, team.id, team_slug, path.name, staged, rejected, details)
    _announce(engine, team.id, _printable(path.name), parsed.sha256, staged, rejected, details)
    target = _move(path, import_dir / PROCESSED / team_slug, f"{parsed.sha256[:12]}-")
    return StageResult(
        file_name=_printable(path.name),
        team=team_slug,
        status="staged" if new_rows or not staged else "already_imported",
        moved_to=target,
        rows_staged=len(staged),
        rows_rejected=len(rejected),
        dates=sorted({day for _, day, _ in staged}),
        sha256=parsed.sha256,
        details=details,
    )


def _imported_elsewhere(engine: Engine, sha256: str, team_id: int) -> str | None:
    """Why a file whose content another team imported is not imported here: a file is recorded
    once, by its content, for the team it came for. (Taking it again reported the other team's
    rows as this team's and told this team they landed; none did.)"""
    with engine.connect() as conn:
        other = conn.execute(
            sa.select(Team.slug, ImportFile.file_name, ImportFile.imported_at)
            .join(Team, Team.id == ImportFile.team_id)
            .where(ImportFile.sha256 == sha256, ImportFile.team_id != team_id)
        ).first()
    if other is None:
        return None
    return (
        f"the same content was imported into team {other.slug!r} on "
        f"{other.imported_at:%Y-%m-%d} (as {other.file_name!r}): a statement is one account's, "
        "so nothing was imported here. If that was the wrong team, its rows stay there; a "
        "second team's copy of an account needs its own export"
    )


def _announce(
    engine: Engine,
    team_id: int,
    file_name: str,
    sha256: str,
    staged: list[tuple[int, date, RawTransaction]],
    rejected: list[dict[str, Any]],
    details: dict[str, Any],
) -> None:
    """Tell the team a file was read (once per content: the event's key is the file's hash)."""
    mismatches = sum(b["ok"] is False for b in details["balances"])
    body = [Words("rows_staged", {"rows": len(staged), "quarantined": len(rejected)})]
    if mismatches:
        body.append(Words("balances_off", {"statements": mismatches}))
    event = Event(
        key=f"import:{team_id}:{sha256}",
        team_id=team_id,
        category="import.finished",
        words=Words("file_imported", {"file": file_name[:150]}),
        body_words=tuple(body),
        payload={"file": file_name, "rows": len(staged), "quarantined": len(rejected),
                 "balance_mismatches": mismatches},
    )  # fmt: skip
    with engine.begin() as conn:
        notify(conn, [event])


def before_history(parsed: ParsedFile, history_start: date) -> dict[str, Any] | None:
    """One summary of a file's rows dated before the history start, with the setting (a Monday,
    where weeks begin) that would include them all; None when there are none."""
    days = [
        d for d in (date.fromisoformat(r.booking_date) for r in parsed.rows) if d < history_start
    ]
    if not days:
        return None
    first = min(days)
    include_from = first - timedelta(days=first.weekday())
    return {
        "rows": len(days),
        "first": first.isoformat(),
        "last": max(days).isoformat(),
        "history_start": history_start.isoformat(),
        "setting": f"BG_AGENTS_HISTORY_START={include_from.isoformat()}",
    }


def _screen_rows(
    parsed: ParsedFile, history_start: date
) -> tuple[list[tuple[int, date, RawTransaction]], list[dict[str, Any]]]:
    """The rows to stage (numbered, with their day) and those refused, each with its reason."""
    staged, rejected = [], [{**r, "raw": _storable(r["raw"])} for r in parsed.rejected]
    horizon = clock.now().date() + timedelta(days=FUTURE_DAYS)
    for number, row in enumerate(parsed.rows, 1):
        day = date.fromisoformat(row.booking_date)
        if any(_UNSTORABLE.search(v) for v in vars(row).values() if isinstance(v, str)):
            rejected.append(
                {
                    "row_ref": row.row_ref,
                    "raw": _storable(row.as_dict()),
                    "reason": "the row holds a NUL character or undecodable bytes (binary data "
                    "in a text field): fix the export",
                }
            )
            continue
        if day > horizon:
            rejected.append(
                {
                    "row_ref": row.row_ref,
                    "raw": row.as_dict(),
                    "reason": f"booking date {day} is more than {FUTURE_DAYS} days in the future",
                }
            )
            continue
        if day < history_start:
            rejected.append(
                {
                    "row_ref": row.row_ref,
                    "raw": row.as_dict(),
                    "reason": f"{BEFORE_HISTORY}: booked {day}, history starts {history_start}",
                }
            )
            continue
        staged.append((number, day, row))
    return staged, rejected


def _store(
    engine: Engine,
    parsed: ParsedFile,
    team_id: int,
    team_slug: str,
    file_name: str,
    staged: list[tuple[int, date, RawTransaction]],
    rejected: list[dict[str, Any]],
    details: dict[str, Any],
) -> int:
    """Record the file, its staged rows and its quarantined rows in one transaction; returns how
    many staged rows are new (0: the same content was imported before).

    Importing the same content again after the history start moved earlier stages the rows it now
    includes; their earlier quarantine entries go and the file's counts follow, so its report
    still adds up.
    """
    counts = {
        "rows_staged": len(staged),
        "rows_quarantined": len(rejected),
        "rows_total": parsed.rows_total,
        "details": details,
    }
    with engine.begin() as conn:
        insert_missing(
            conn,
            ImportFile,
            [
                {
                    "sha256": parsed.sha256,
                    "team_id": team_id,
                    "file_name": _printable(file_name)[:255],
                    "file_format": parsed.file_format,
                    **counts,
                }
            ],
            ["sha256"],
        )
        file_id = conn.execute(
            sa.select(ImportFile.id).where(ImportFile.sha256 == parsed.sha256)
        ).scalar_one()
        conn.execute(sa.update(ImportFile).where(ImportFile.id == file_id).values(**counts))
        set_aside = dict(
            conn.execute(
                sa.select(QuarantinedRow.row_ref, QuarantinedRow.id).where(
                    QuarantinedRow.batch_ref == parsed.sha256,
                    QuarantinedRow.reason.startswith(BEFORE_HISTORY),
                )
            ).all()
        )
        now_staged = [set_aside[row.row_ref] for _, _, row in staged if row.row_ref in set_aside]
        for start in range(0, len(now_staged), 500):
            chunk = now_staged[start : start + 500]
            conn.execute(sa.delete(QuarantinedRow).where(QuarantinedRow.id.in_(chunk)))
        new_rows = insert_missing(
            conn,
            StagedImportRow,
            [
                {
                    "import_file_id": file_id,
                    "row_number": number,
                    "team_id": team_id,
                    "booking_date": day,
                    "raw": row.as_dict(),
                }
                for number, day, row in staged
            ],
            ["import_file_id", "row_number"],
        )
        insert_missing(
            conn,
            QuarantinedRow,
            [
                {
                    "source": parsed.file_format,
                    "batch_ref": parsed.sha256,
                    "row_ref": str(r["row_ref"])[:128],
                    "team_ref": team_slug,
                    "raw": r["raw"],
                    "reason": r["reason"],
                }
                for r in rejected
            ],
            QUARANTINE_KEY,
        )
    return new_rows
