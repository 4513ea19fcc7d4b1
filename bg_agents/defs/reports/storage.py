"""Where report files live: a local folder by default, any fsspec URL (``s3://``, ``gs://``,
``memory://``...) when ``BG_AGENTS_REPORTS_URL`` names one.

A version's path is ``<base>/<team>/<YYYY-MM>/v<N>.pdf``. The file is written before its row is
committed, under the row's unique key (``service.py``), so the database decides which writer owns
a version; a reader never sees half a file: locally the bytes go to a temporary name in the same
folder and are renamed into place, and an object store's put is atomic per object.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import fsspec


class ReportStorageError(Exception):
    """The report could not be stored or read; the message names the place and the cause."""


def is_url(base: str) -> bool:
    return "://" in base and not base.startswith("file://")


def version_path(base: str, team_slug: str, month: date, version: int) -> str:
    """Where version ``version`` of a team's month goes, under ``base`` (folder or URL)."""
    relative = f"{team_slug}/{month:%Y-%m}/v{version}.pdf"
    if is_url(base):
        return f"{base.rstrip('/')}/{relative}"
    return str(Path(base.removeprefix("file://")) / relative)


def write(path: str, data: bytes) -> None:
    """Store ``data`` at ``path`` in one step: readers see the old state or the whole file."""
    try:
        if is_url(path):
            fs, target = fsspec.core.url_to_fs(path)
            fs.makedirs(fs._parent(target), exist_ok=True)
            fs.pipe_file(target, data)
            return
        folder = Path(path).parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=".pdf")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, ValueError, ImportError) as exc:
        raise ReportStorageError(f"could not write {path}: {exc}") from exc


def read(path: str) -> bytes:
    try:
        if is_url(path):
            fs, target = fsspec.core.url_to_fs(path)
            return fs.cat_file(target)
        return Path(path).read_bytes()
    except (OSError, ValueError, ImportError) as exc:
        raise ReportStorageError(f"could not read {path}: {exc}") from exc
