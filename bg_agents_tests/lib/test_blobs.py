"""Files the agents write land whole or not at all, in a local folder or at an fsspec URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bg_agents.lib import blobs


def test_local_files_are_written_whole(tmp_path: Path) -> None:
    path = blobs.join(str(tmp_path), "acme/2026-10/v2.pdf")
    assert path == str(tmp_path / "acme" / "2026-10" / "v2.pdf")
    blobs.write(path, b"%PDF-1.4 first")
    blobs.write(path, b"%PDF-1.4 second")
    assert blobs.read(path) == b"%PDF-1.4 second"
    assert sorted(p.name for p in Path(path).parent.iterdir()) == ["v2.pdf"], "no temp file left"


def test_a_failed_local_write_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = tmp_path / "acme" / "2026-10"
    folder.mkdir(parents=True)
    (folder / "v1.pdf").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(blobs.BlobError, match="v1.pdf"):
        blobs.write(str(folder / "v1.pdf"), b"%PDF")
    assert sorted(os.listdir(folder)) == ["v1.pdf"]


def test_an_fsspec_url_is_a_storage_too() -> None:
    path = blobs.join("memory://bucket/reports/", "acme/2026-10/v1.pdf")
    assert path == "memory://bucket/reports/acme/2026-10/v1.pdf"
    blobs.write(path, b"%PDF-1.7")
    assert blobs.read(path) == b"%PDF-1.7"


def test_an_unknown_or_missing_backend_is_a_clear_error() -> None:
    with pytest.raises(blobs.BlobError, match="Protocol not known: nope"):
        blobs.write("nope://bucket/acme/2026-10/v1.pdf", b"x")
    with pytest.raises(blobs.BlobError, match="could not read"):
        blobs.read("memory://bucket/nothing/here.pdf")


def test_a_relative_path_never_climbs_above_its_base(tmp_path: Path) -> None:
    for bad in ("../etc/x.pdf", "acme/../../x.pdf", "acme//x.pdf", "./x.pdf"):
        with pytest.raises(blobs.BlobError, match="not a plain relative path"):
            blobs.join(str(tmp_path), bad)
