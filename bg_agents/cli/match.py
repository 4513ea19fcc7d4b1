"""``bg-agents match``: reconcile two exported files, no database or Dagster involved."""

from __future__ import annotations

import argparse
import json
import sys
import time

from bg_agents.lib.forked import cores


class _StagePrinter:
    """Progress on stderr: a line when a stage starts, its time when it ends, counts between."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.stage = ""
        self.started = self.last = 0.0
        self.finished = True

    def _finish(self, now: float) -> None:
        if not self.finished:
            self.finished = True
            print(f"{self.stage}: {now - self.started:.1f} s", file=sys.stderr, flush=True)

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            self._finish(now)
            self.stage, self.started, self.last, self.finished = stage, now, now, False
            if stage == "done":  # the matcher's last word: nothing further to time
                self.finished = True
                return
            print(f"{stage} ...", file=sys.stderr, flush=True)
        if self.finished:
            return
        if total and done >= total:
            self._finish(now)
        elif total > 1 and now - self.last >= self.every:
            self.last = now
            print(f"{stage}: {done:,} of {total:,}", file=sys.stderr, flush=True)


# Inputs at least this large (bytes, both files together) get progress lines on stderr.
MATCH_PROGRESS_BYTES = 1_000_000


def cmd_match(args: argparse.Namespace) -> int:
    """Reconcile two exports and write the pairs; no database or Dagster involved."""
    from pathlib import Path

    from bg_agents.cli.bank_rows import BANK_EXPORTS
    from bg_agents.defs.reconciliation.matcher import exports, file_match

    left, right, out = Path(args.left), Path(args.right), Path(args.out)
    # Everything that can be checked without reading the files is checked first.
    exports.check_input_path(left, BANK_EXPORTS.suffixes)
    exports.check_input_path(right, BANK_EXPORTS.suffixes)
    exports.check_output_path(out, (left, right))
    left_map = exports.parse_column_map(args.left_map) if args.left_map is not None else None
    right_map = exports.parse_column_map(args.right_map) if args.right_map is not None else None
    config = file_match.matcher_config(
        args.profile,
        amount_tolerance=args.amount_tolerance,
        amount_abs=args.amount_abs,
        date_window_days=args.date_window_days,
    )
    seed = file_match.matcher_config(
        "seed",
        amount_tolerance=args.amount_tolerance,
        amount_abs=args.amount_abs,
        date_window_days=args.date_window_days,
    )
    currency = exports.check_currency(args.currency)
    large = left.stat().st_size + right.stat().st_size >= MATCH_PROGRESS_BYTES
    summary = file_match.match_files(
        left,
        right,
        out,
        config=config,
        profile_name=args.profile,
        left_map=left_map,
        right_map=right_map,
        currency=currency,
        same_sign=args.same_sign,
        progress=_StagePrinter() if large else None,
        small_files_config=seed,
        processes=args.processes,
        bank=BANK_EXPORTS,
    )
    if args.json:
        print(json.dumps(summary.as_dict()))
        return 0
    for warning in summary.warnings:
        print(f"bg-agents: warning: {warning}", file=sys.stderr)
    for side, rows, file, read_as in (
        ("left", summary.left_rows, summary.left_file, summary.left_read_as),
        ("right", summary.right_rows, summary.right_file, summary.right_read_as),
    ):
        print(f"{side:<6} {rows:>10,} rows  {file}")
        if read_as:
            print(f"{'':<18} read as a bank export ({read_as})")
    print(f"auto   {summary.auto:>10,} pairs linked")
    print(f"review {summary.suggest:>10,} pairs suggested for a person to confirm")
    print(
        f"unmatched {summary.left_unmatched:,} left and {summary.right_unmatched:,} right rows "
        "(in no pair)"
    )
    why = f": {summary.note}" if summary.note else ""
    print(f"wrote {summary.out} in {summary.seconds:.1f} s (profile {summary.profile}{why})")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    match = sub.add_parser(
        "match",
        help="reconcile two exports, CSV, Parquet or bank statements (no database or Dagster)",
        description="Pair the rows of two exports (e.g. a ledger and a bank statement) and write "
        "the pairs with their decision (auto: linked; suggest: for a person to confirm) and "
        "an explanation. A file without the matcher's columns (id, date, amount, name) is read "
        "as a bank export, as bg-agents import reads one (CSV layouts it knows, OFX, MT940, camt, "
        "QIF).",
    )
    match.add_argument("--left", required=True, help="records: invoices, receipts, ledger rows")
    match.add_argument("--right", required=True, help="candidates: bank or card transactions")
    match.add_argument("--out", required=True, help="where to write the pairs (.csv or .parquet)")
    for side in ("left", "right"):
        match.add_argument(
            f"--{side}-map",
            metavar="MAP",
            help=f"which {side} column holds what, e.g. "
            '"id=unique_id,date=transaction_date,amount=amount,name=payee+memo" '
            "(fields: id, date, amount, name, currency, reference, base_amount, date_until; "
            "by default the column named like the field), or a mapping file's JSON "
            '(or its .json path) with "columns" and "decimal", "date_format", "default_currency"',
        )
    match.add_argument(
        "--currency",
        metavar="CODE",
        help="currency of the rows of a file without a currency column (and of empty cells)",
    )
    match.add_argument(
        "--amount-tolerance",
        metavar="PCT",
        help="amounts may differ by this percentage (0.5 or 0.5%%); with the learned profile, "
        "the most an automatic link may differ",
    )
    match.add_argument("--amount-abs", metavar="X", help="or by this absolute amount (e.g. 0.01)")
    match.add_argument(
        "--date-window-days",
        type=int,
        metavar="N",
        help="dates may be this many days apart; with the learned profile, the most an "
        "automatic link may be apart (and at least as far is searched)",
    )
    match.add_argument(
        "--profile",
        default="learned",
        help="learned (default: weighs the evidence as these two files show it, searching a wide "
        "window), seed (the seed's fixed rules: 0.5 %%, 5 days), strict (to the cent) or lenient",
    )
    match.add_argument(
        "--same-sign",
        action="store_true",
        help="both files sign amounts alike (money out negative): pair only equal signs, so a "
        "refund never pairs with a purchase (default: amounts pair by size)",
    )
    match.add_argument(
        "--processes",
        type=int,
        choices=(1, 2),
        default=min(2, cores()),
        help="2 (the default where this process may use two cores or more): large files are "
        "read, compared, explained and written on two cores, by forked children that share "
        "this process's memory (their own pages add up to about a third); 1 keeps to one "
        "process",
    )
    match.add_argument("--json", action="store_true", help="print the summary as JSON")
    match.set_defaults(func=cmd_match, reads_settings=False)
