"""Benchmark: rows per second of each bank-file reader (CSV, OFX, MT940, camt.053, QIF).

    PYTHONPATH=. python benchmarks/bank_files.py [--entries 50000] [--repeat 3] [--keep DIR]

Writes the same entries in each format (``bank_files_data``, from the formats' specifications,
apart from the readers and the test fixtures), then times ``read_import_file`` on each file: the
reader alone (decode to rows), no database. Each format is read in a fresh process, so one
reader's 50,000 rows left on the heap do not slow the next one's garbage collection; the time is
the best of ``--repeat`` reads, wall and CPU. It also checks each reader against the independent
writer: every written entry must come back as a row or a rejected row (rows + rejected ==
written, and == the reader's own ``rows_total``), the rows' amounts must be the written amounts,
and each row's id must be its own (rows sharing one would land as one). A reader not written
yet is reported as such. Prints the machine and its load, a Markdown table, and the ratios to
CSV; a full run (50,000 entries, every format) is saved to benchmarks/results/bank_files.md.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bank_files_data import WRITERS, Written, generate, write_all  # noqa: E402
from benchmarks.ingest_and_metrics import machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "bank_files.md"


def amounts_digest(amounts: list[Decimal]) -> str:
    """The multiset of amounts as one hash: equal when every amount came back, sign included."""
    return hashlib.sha256("\n".join(sorted(f"{a:f}" for a in amounts)).encode()).hexdigest()


def read_in_child(path: Path, repeat: int) -> dict[str, Any]:
    """Run in a fresh process: read ``path`` ``repeat`` times; counts and best times."""
    from bg_agents.defs.ingestion.files import read_import_file
    from bg_agents.defs.ingestion.formats import ImportFileError

    best_wall = best_cpu = float("inf")
    parsed = None
    for _ in range(repeat):
        parsed = None
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            parsed = read_import_file(path, "bench", default_currency="EUR")
        except ImportFileError as exc:
            return {"error": str(exc)}
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    assert parsed is not None
    reasons = Counter(r["reason"][:120] for r in parsed.rejected)
    return {
        "rows": len(parsed.rows),
        "rejected": len(parsed.rejected),
        "rows_total": parsed.rows_total,
        "wall": best_wall,
        "cpu": best_cpu,
        "amounts": amounts_digest([Decimal(r.amount) for r in parsed.rows]),
        "distinct_ids": len({r.external_id for r in parsed.rows}),
        "reasons": reasons.most_common(3),
        "balances": [b.ok for b in parsed.balances],
    }


def measure(written: Written, repeat: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(written.path), "--repeat", str(repeat)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"the reader crashed: {last[:200]}"}
    return json.loads(done.stdout)


def check(result: dict[str, Any], written: Written, digest: str) -> str:
    """Whether every written entry came back, each with its written amount."""
    read = result["rows"] + result["rejected"]
    problems = []
    if read != written.entries:
        problems.append(f"{read:,} of {written.entries:,} entries read")
    if result["rows_total"] != read:
        problems.append(f"rows_total {result['rows_total']:,} != rows + rejected")
    if not result["rejected"] and result["amounts"] != digest:
        problems.append("amounts differ from the written ones")
    if result["distinct_ids"] != result["rows"]:
        # Rows sharing an id would land as one: the others would count as duplicates.
        problems.append(f"{result['rows'] - result['distinct_ids']:,} rows share an id")
    if False in result["balances"]:
        problems.append(f"{result['balances'].count(False)} statement balance(s) off")
    return "yes" if not problems else "NO: " + "; ".join(problems)


def table(results: dict[str, dict[str, Any]], files: dict[str, Written], digest: str) -> list[str]:
    csv = results.get("CSV", {})
    csv_rate = csv["rows"] / csv["wall"] if "rows" in csv else 0.0
    lines = [
        "| format | file | entries | rows | rejected | best read (wall / CPU) | rows/s "
        "| vs CSV | statements | every entry read |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        written = files[name]
        size = f"{written.path.stat().st_size / 2**20:,.1f} MiB"
        if "error" in r:
            lines.append(
                f"| {name} | {size} | {written.entries:,} | — | — | — | — | — | — "
                f"| not read: {r['error']} |"
            )
            continue
        rate = r["rows"] / r["wall"]
        balances = r["balances"]
        checked = f"{balances.count(True)} of {len(balances)} add up" if balances else "—"
        ratio = f"{rate / csv_rate:.2f}x" if csv_rate else "—"
        lines.append(
            f"| {name} | {size} | {written.entries:,} | {r['rows']:,} | {r['rejected']:,} "
            f"| {r['wall']:.2f} s / {r['cpu']:.2f} s | {rate:,.0f} | {ratio} | {checked} "
            f"| {check(r, written, digest)} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="reads per file; the best counts")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--formats", default=",".join(WRITERS), help="comma separated")
    parser.add_argument("--keep", type=Path, help="write the files here (default: a temp dir)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(read_in_child(args.child, args.repeat)))
        return
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(WRITERS))
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; known: {', '.join(WRITERS)}")

    machine_line, load = machine(), os.getloadavg()[0]
    print(f"machine: {machine_line}", flush=True)
    entries = generate(args.entries, args.seed)
    digest = amounts_digest([e.amount for e in entries])
    temp = None if args.keep else tempfile.TemporaryDirectory(prefix="bank_files-")
    directory = args.keep or Path(temp.name)  # type: ignore[union-attr]
    directory.mkdir(parents=True, exist_ok=True)
    try:
        files = write_all(entries, directory, formats)
        results = {}
        for name in formats:
            print(f"reading {name} ...", file=sys.stderr, flush=True)
            results[name] = measure(files[name], args.repeat)
        lines = table(results, files, digest)
    finally:
        if temp is not None:
            temp.cleanup()
    days = len({e.booked for e in entries})
    money = sum((e.amount for e in entries), Decimal(0))
    out = [
        f"machine: {machine_line}",
        "",
        f"{args.entries:,} entries (seed {args.seed}) over {days} business days, one account, "
        f"{money:f} EUR; best of {args.repeat} reads per file, reader only, one process each; "
        f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after",
        "",
        *lines,
    ]
    rates = {n: r["rows"] / r["wall"] for n, r in results.items() if "error" not in r}
    if len(rates) > 1:
        fast, slow = max(rates, key=rates.__getitem__), min(rates, key=rates.__getitem__)
        out.append(
            f"\nfastest {fast} {rates[fast]:,.0f} rows/s, slowest {slow} {rates[slow]:,.0f} "
            f"rows/s ({rates[fast] / rates[slow]:.1f}x)"
        )
    for name, r in results.items():
        for reason, count in r.get("reasons", []):
            out.append(f"{name}: {count:,} rejected: {reason}")
    print("\n".join(out[1:]))
    if args.entries == 50_000 and set(formats) == set(WRITERS):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("# Bank-file readers: rows per second\n\n" + "\n".join(out) + "\n")
        print(f"\nsaved to {RESULTS}")


if __name__ == "__main__":
    main()
