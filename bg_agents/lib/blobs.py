"""Files the agents produce (month-end reports, e-mail attachments): a local path, or any fsspec
URL (``s3://``, ``gs://``, ``memory://``...) for object storage beyond one machine.

A reader never sees half a file: locally the bytes go to a temporary name in the same folder and
are renamed into place, and an object store's put is atomic per object. Which writer owns a path
is decided by the caller (a unique key in the database), not here.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import fsspec


class BlobError(Exception):
    """The file could not be stored or read; the message names the place and the cause."""


def is_url(base: str) -> bool:
    return "://" in base and not base.startswith("file://")


def join(base: str, relative: str) -> str:
    """``relative`` (slash-separated) under ``base``, a folder or a URL; never above it."""
    if any(part in ("", ".", "..") for part in relative.split("/")):
        raise BlobError(f"{relative!r} is not a plain relative path")
    if is_url(base):
        return f"{base.rstrip('/')}/{relative}"
    return str(Path(base.removeprefix("file://")).joinpath(*relative.split("/")))


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
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".writing-")
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
        raise BlobError(f"could not write {path}: {exc}") from exc


def read(path: str) -> bytes:
    try:
        if is_url(path):
            fs, target = fsspec.core.url_to_fs(path)
            return fs.cat_file(target)
        return Path(path).read_bytes()
    except (OSError, ValueError, ImportError) as exc:
        raise BlobError(f"could not read {path}: {exc}") from exc
