"""What became of each row of an imported file, and ``import_paths`` behind ``bg-agents import``.

A file's report counts its rows as the reader saw them and what became of each: landed, an
identical duplicate of a stored row, quarantined with a reason, or still waiting for its day.
Those add up to the file's rows, which is the check that nothing vanished.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.ingestion.formats import SUPPORTED_SUFFIXES
from bg_agents.defs.ingestion.staging import StageResult, stage_file
from bg_agents.defs.ingestion.statement import StatementBalance
from bg_agents.defs.ingestion.transactions import (
    DUPLICATE,
    LANDED,
    QUARANTINED,
    ingest_day,
    reason_kind,
)
from bg_agents.lib.db.models import ImportFile, QuarantinedRow, StagedImportRow, Team

TOP_REASONS = 3


@dataclass
class FileReport:
    file: str
    team: str
    status: str  # staged | already_imported | failed
    rows: int = 0
    landed: int = 0
    duplicates: int = 0
    quarantined: int = 0
    waiting: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)
    error: str | None = None
    moved_to: str = ""
    file_format: str = ""
    # Per statement that states balances: its check (``StatementBalance.as_dict``).
    balances: list[dict[str, Any]] = field(default_factory=list)
    # Rows dated before the history start, summarized once (``staging.before_history``).
    before_history: dict[str, Any] | None = None

    @property
    def balances_agree(self) -> bool:
        """No statement whose opening balance plus its entries misses its closing balance."""
        return all(b["ok"] is not False for b in self.balances)

    def notes(self) -> list[str]:
        """What the user must know beyond the counts: balance mismatches, old rows set aside."""
        lines = [f"BALANCE MISMATCH: {b['describe']}" for b in self.balances if b["ok"] is False]
        if self.balances and self.balances_agree:
            checked = sum(b["ok"] is True for b in self.balances)
            if checked:
                lines.append(f"balances agree: {checked} statement(s), opening + entries = closing")
        old = self.before_history
        if old:
            lines.append(
                f"{old['rows']:,} row(s) dated {old['first']} to {old['last']} are before "
                f"BG_AGENTS_HISTORY_START ({old['history_start']}) and were set aside: set "
                f"{old['setting']} and import the file again to include them"
            )
        return lines

    @property
    def adds_up(self) -> bool:
        """Every row accounted for (a failed file stages nothing and has its error report)."""
        if self.status == "failed":
            return self.landed == self.duplicates == self.waiting == 0
        return self.landed + self.duplicates + self.quarantined + self.waiting == self.rows

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "reasons": dict(self.reasons),
            "adds_up": self.adds_up,
            "balances_agree": self.balances_agree,
            "notes": self.notes(),
        }


def file_report(engine: Engine, stage: StageResult) -> FileReport:
    report = FileReport(stage.file_name, stage.team, stage.status, moved_to=str(stage.moved_to))
    if stage.status == "failed" or stage.sha256 is None:
        report.error = stage.error
        return report
    with engine.connect() as conn:
        file_id, total, rejected, file_format, details = conn.execute(
            sa.select(
                ImportFile.id,
                ImportFile.rows_total,
                ImportFile.rows_quarantined,
                ImportFile.file_format,
                ImportFile.details,
            ).where(ImportFile.sha256 == stage.sha256)
        ).one()
        outcomes = Counter(
            dict(
                conn.execute(
                    sa.select(StagedImportRow.outcome, sa.func.count())
                    .where(StagedImportRow.import_file_id == file_id)
                    .group_by(StagedImportRow.outcome)
                ).all()
            )
        )
        reasons = Counter(
            reason_kind(reason)
            for (reason,) in conn.execute(
                sa.select(QuarantinedRow.reason).where(QuarantinedRow.batch_ref == stage.sha256)
            )
        )
    report.rows = total
    report.landed, report.duplicates = outcomes[LANDED], outcomes[DUPLICATE]
    report.quarantined = rejected + outcomes[QUARANTINED]
    report.waiting = outcomes[None]
    report.reasons = reasons.most_common(TOP_REASONS)
    report.file_format = file_format
    report.balances = [
        {**b, "describe": StatementBalance.from_dict(b).describe()}
        for b in details.get("balances", [])
    ]
    report.before_history = details.get("before_history")
    return report


def check_paths(engine: Engine, team: str, paths: list[Path], inbox: Path) -> None:
    """Refuse a user's mistake before anything is copied: ValueError with one clear line."""
    with engine.connect() as conn:
        if conn.scalar(sa.select(Team.id).where(Team.slug == team)) is None:
            raise ValueError(f"unknown team {team!r}; `bg-agents teams` lists them")
    for path in paths:
        if not path.exists():
            raise ValueError(f"{path}: no such file")
        if not path.is_file():
            raise ValueError(f"{path}: not a file")
        try:
            path.open("rb").close()
        except OSError as exc:
            raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise ValueError(
                f"{path}: unsupported file type {path.suffix or '(no extension)'!r}; "
                f"import {', '.join(sorted(SUPPORTED_SUFFIXES))} files"
            )
        waiting = inbox / path.name
        if waiting.exists() or waiting.is_symlink():
            raise ValueError(f"{waiting}: a file of that name is already waiting in the inbox")


def import_paths(
    engine: Engine, team: str, paths: list[Path], import_dir: Path, history_start: date
) -> list[FileReport]:
    """Stage and ingest files now, through the import folder's own code.

    Each file is copied into the team's inbox under its own name (via a hidden temporary name,
    so the folder sensor never sees half a file) and staged exactly as the sensor's job would,
    then the days it touched are ingested. The user's file is left where it was; the copy ends in
    ``_processed`` or ``_failed`` like any dropped file. The staged-rows sensor later re-runs
    those days' partitions, which changes nothing but lets Dagster see them.
    """
    inbox = import_dir / team
    check_paths(engine, team, paths, inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    reports = []
    for path in paths:
        target = inbox / path.name
        partial = inbox / f".{uuid.uuid4().hex}.partial"
        shutil.copyfile(path, partial)
        os.replace(partial, target)
        stage = stage_file(engine, target, import_dir, history_start)
        for day in stage.dates:
            ingest_day(engine, day)
        reports.append(file_report(engine, stage))
    return reports
