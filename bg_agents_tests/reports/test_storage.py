"""Report storage: versions land at <base>/<team>/<YYYY-MM>/v<N>.pdf, whole or not at all, in a
local folder or at an fsspec URL."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from bg_agents.defs.reports import storage

MONTH = date(2026, 10, 1)


def test_local_versions_are_written_whole_under_team_and_month(tmp_path: Path) -> None:
    path = storage.version_path(str(tmp_path), "acme", MONTH, 2)
    assert path == str(tmp_path / "acme" / "2026-10" / "v2.pdf")
    storage.write(path, b"%PDF-1.4 first")
    storage.write(path, b"%PDF-1.4 second")
    assert storage.read(path) == b"%PDF-1.4 second"
    assert sorted(p.name for p in Path(path).parent.iterdir()) == ["v2.pdf"], "no temp file left"


def test_a_failed_local_write_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path / "acme" / "2026-10"
    folder.mkdir(parents=True)
    (folder / "v1.pdf").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(storage.ReportStorageError, match="v1.pdf"):
        storage.write(str(folder / "v1.pdf"), b"%PDF")
    assert sorted(os.listdir(folder)) == ["v1.pdf"]


def test_an_fsspec_url_is_a_storage_too() -> None:
    path = storage.version_path("memory://bucket/reports/", "acme", MONTH, 1)
    assert path == "memory://bucket/reports/acme/2026-10/v1.pdf"
    storage.write(path, b"%PDF-1.7")
    assert storage.read(path) == b"%PDF-1.7"


def test_an_unknown_or_missing_backend_is_a_clear_error() -> None:
    with pytest.raises(storage.ReportStorageError, match="Protocol not known: nope"):
        storage.write("nope://bucket/acme/2026-10/v1.pdf", b"x")
    with pytest.raises(storage.ReportStorageError, match="could not read"):
        storage.read("memory://bucket/nothing/here.pdf")
