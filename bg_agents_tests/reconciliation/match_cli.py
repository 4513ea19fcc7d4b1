"""Running `bg-agents match` in a test: input files written, the command run in-process, the
pairs read back as a spreadsheet would read them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bg_agents.cli import main


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """`bg-agents match ARGS`: (exit code, stdout, stderr)."""
    code = main(["match", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def read_pairs(path: Path) -> list[dict[str, str]]:
    """The written pairs CSV, a dict per row (its byte-order mark dropped)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))
