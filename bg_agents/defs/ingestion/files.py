"""Bank export files dropped in ``<import_dir>/<team-slug>/``: CSV or Parquet (recognized, or with
a column mapping), OFX, MT940, camt.053/054 and QIF.

``read_import_file`` picks the parser from the extension or the content and returns rows in the
``RawTransaction`` shape every provider produces, plus the rows it could not read, each with a
reason. A file that cannot be used at all raises ``ImportFileError`` whose text is written for the
user who dropped it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bg_agents.defs.ingestion import camt_file, csv_file, mt940_file, ofx_file, qif_file
from bg_agents.defs.ingestion.formats import (
    CAMT_SUFFIXES,
    MAX_FILE_BYTES,
    MT940_SUFFIXES,
    OFX_SUFFIXES,
    QIF_SUFFIXES,
    SUPPORTED_SUFFIXES,
    ColumnMapping,
    ImportFileError,
)
from bg_agents.defs.ingestion.raw import ParsedFile
from bg_agents.lib.tabular.parquet import parquet_as_csv
from bg_agents.lib.tabular.suffixes import PARQUET_SUFFIXES


def read_import_file(
    path: Path,
    team_ref: str,
    *,
    mapping: ColumnMapping | None = None,
    default_currency: str | None = None,
) -> ParsedFile:
    """Parse one dropped file. ``mapping`` is the caller's (see ``load_mapping``); None = guess.

    ``default_currency`` applies to CSV rows without a currency (the mapping's wins) and to OFX
    statements without CURDEF.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ImportFileError(
            f"unsupported file type {suffix or '(no extension)'!r}: export the statement as CSV "
            "(.csv, .tsv or .txt), Parquet (.parquet, .pq), OFX/QFX (.ofx, .qfx), MT940 (.sta, "
            ".mt940, .940), camt.053/054 (.xml) or QIF (.qif)"
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportFileError(
                f"the file is {size / 2**20:.1f} MB, over the {MAX_FILE_BYTES / 2**20:g} MB "
                "limit: export a shorter date range"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot read the file: {exc.strerror or exc}") from None
    if not data.strip():
        raise ImportFileError("the file is empty")
    sha256 = hashlib.sha256(data).hexdigest()

    if suffix in OFX_SUFFIXES or ofx_file.looks_like_ofx(data):
        rows, rejected, total = ofx_file.parse_ofx(
            data, sha256=sha256, team_ref=team_ref, default_currency=default_currency
        )
        return ParsedFile(sha256, "ofx", rows, rejected, total)
    statement_readers = (
        (MT940_SUFFIXES, mt940_file.looks_like_mt940, mt940_file.parse_mt940),
        (CAMT_SUFFIXES, camt_file.looks_like_camt, camt_file.parse_camt),
        (QIF_SUFFIXES, qif_file.looks_like_qif, qif_file.parse_qif),
    )
    for suffixes, looks_like, parse in statement_readers:
        if suffix in suffixes or looks_like(data):
            return parse(data, sha256=sha256, team_ref=team_ref, default_currency=default_currency)
    file_format, text = "csv", None
    if suffix in PARQUET_SUFFIXES:
        # Read as the CSV of the same data, so its rows get the same rules and the same ids.
        file_format, text = "parquet", parquet_as_csv(data)
    return csv_file.parse_csv(
        data,
        sha256=sha256,
        team_ref=team_ref,
        mapping=mapping,
        default_currency=default_currency,
        text=text,
        file_format=file_format,
    )
