"""Benchmark: the reconciliation matcher's quality, speed and memory, against two baselines.

    PYTHONPATH=. python benchmarks/matching.py [--quick] [--no-trace]

On a SIMULATED labelled set (``bg_agents.simulate.match_evaluation.labelled_set``: every hard case
users report, with the true pairs known) it measures, in one run:

1. quality on ~10k records (14 teams x 52 weeks): auto-link precision (target >= 99.5 %), recall
   of all true pairs as auto link or suggestion (>= 95 %), share linked automatically, ties per
   100 records (would go to the model; <= 5), recall per case; for ``match`` and for the seed's
   loop taken literally (benchmarks/naive_matcher.py: every record scans every candidate);
2. speed at 10k records x 10k candidates: ``match`` vs that naive loop (target >= 20x faster)
   vs the ``recordlinkage`` library (0.16) with comparable blocking and comparisons, with the
   precision, recall and F1 of each;
3. scale: ~100k records x all their candidates (target <= 60 s for ``match``).

Every measurement runs in a fresh process (the script re-invokes itself with a hidden
``--child``), so caches start cold and its peak RSS is its own; a second process re-runs
``match`` under tracemalloc for the peak of Python allocations (slower, so not timed).
The tables are printed and saved to benchmarks/results/matching.md.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import require_peer  # noqa: E402
from benchmarks.naive_matcher import naive_scanner  # noqa: E402
from bg_agents.defs.reconciliation.matcher import match, profile  # noqa: E402
from bg_agents.defs.reconciliation.matcher.rules import (  # noqa: E402
    Side,
    normalize_name,
    reference_tokens,
)
from bg_agents.defs.reconciliation.matcher.types import Pair  # noqa: E402
from bg_agents.simulate.match_evaluation import EvalSet, Scores, evaluate, labelled_set  # noqa: E402

WEEKS = 52
SEED = 7
RESULTS = Path(__file__).resolve().parent / "results" / "matching.md"  # _<profile> is added

TARGET_PRECISION = 0.995
TARGET_RECALL = 0.95
TARGET_TIES = 5.0
TARGET_SPEEDUP = 20.0
TARGET_SCALE_S = 60.0

# recordlinkage: what "comparable" means here (printed with the results).
RL_WINDOW = 21  # sorted-neighbourhood window over (group, amount): 10 amounts either side
RL_BLOCKING = (
    f"SortedNeighbourhood on (group, amount in cents), window {RL_WINDOW}, blocked on group; "
    "union Block on (group, first invoice-number token the bank text quotes)"
)
RL_COMPARE = (
    "numeric linear on log |amount| and on log |base amount| (1.0 within 0.5 %, 0 at 2.5 %; "
    "the better of the two counts), days apart via compare_vectorized (1.0 same day or inside "
    "the invoice period, 0.5 at 5 days, 0 at 10), Jaro-Winkler >= 0.8 on normalized names "
    "(record name vs bank counterparty and vs bank text; the better counts), exact reference "
    "token (counts as agreeing names); link if 0.5 amount + 0.2 date + 0.3 name >= 0.8, then "
    "each record's best pair"
)


# -- helpers ------------------------------------------------------------------------------------


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def trimmed(data: EvalSet, n_records: int, n_candidates: int | None) -> EvalSet:
    """The first ``n_records`` records; their true partners first, then others, up to
    ``n_candidates`` candidates (all when None), kept in their original order."""
    records = data.records[:n_records]
    ids = {r.id for r in records}
    if n_candidates is None:
        candidates = list(data.candidates)
    else:
        partners = {c for (r, c) in data.truth if r in ids}
        chosen = [k for k, c in enumerate(data.candidates) if c.id in partners]
        rest = [k for k, c in enumerate(data.candidates) if c.id not in partners]
        keep = sorted((chosen + rest)[:n_candidates])
        candidates = [data.candidates[k] for k in keep]
    cand_ids = {c.id for c in candidates}
    truth = {k: v for k, v in data.truth.items() if k[0] in ids and k[1] in cand_ids}
    twins = {k: v for k, v in data.twins.items() if k in ids or k in cand_ids}
    return EvalSet(records, candidates, truth, twins)


def link_quality(pairs: Sequence[Pair], data: EvalSet) -> dict[str, float]:
    """Precision of the proposed pairs, recall of the true pairs, F1."""
    proposed = {(p.left_id, p.right_id) for p in pairs}
    correct = sum(data.is_true(left, right) for left, right in proposed)
    precision = correct / len(proposed) if proposed else 1.0
    recall = evaluate(list(pairs), data).recall
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(proposed), "precision": precision, "recall": recall, "f1": f1}


def auto_quality(scores: Scores) -> dict[str, float]:
    precision, recall = scores.auto_precision, scores.auto_share
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": scores.auto, "precision": precision, "recall": recall, "f1": f1}


def scores_dict(s: Scores) -> dict[str, Any]:
    return {
        "records": s.records,
        "true_pairs": s.true_pairs,
        "auto": s.auto,
        "auto_correct": s.auto_correct,
        "suggest": s.suggest,
        "found": s.found,
        "ties": s.ties,
        "auto_precision": s.auto_precision,
        "recall": s.recall,
        "auto_share": s.auto_share,
        "ties_per_100": s.ties_per_100,
        "recall_by_case": s.recall_by_case,
        "wrong_auto": [f"{p.left_id} -> {p.right_id}: {p.explanation}" for p in s.wrong_auto[:5]],
    }


def case_counts(data: EvalSet) -> dict[str, int]:
    return dict(Counter(data.truth.values()))


@dataclass
class Scanned:
    """A naive scan's timing: preparing the candidates once, then the records measured."""

    setup_s: float
    loop_s: float
    done: list[str]  # ids of the records measured
    pairs: list[Pair]

    def scaled_s(self, records: int) -> float:
        """The whole run's time: the set-up once, the loop scaled to every record."""
        return self.setup_s + self.loop_s / len(self.done) * records


def scan(
    scanner: Callable[[Sequence[Side]], Callable[[Sequence[Side]], list[Pair]]],
    records: Sequence[Side],
    candidates: Sequence[Side],
    budget: float,
    min_measure: float,
    chunk: int,
) -> Scanned:
    """Run a per-record scan over a strided order of the records (any prefix is a fair sample),
    stopping once at least ``min_measure`` s are measured and the whole run would exceed
    ``budget`` s. The candidates are prepared once (timed), as a scan of all records at once
    would, not once per chunk."""
    stride = 50
    order = [i for s in range(stride) for i in range(s, len(records), stride)]
    t0 = time.perf_counter()
    scan_records = scanner(candidates)
    setup = time.perf_counter() - t0
    pairs: list[Pair] = []
    elapsed, done = 0.0, 0
    while done < len(order):
        part = [records[i] for i in order[done : done + chunk]]
        t0 = time.perf_counter()
        pairs += scan_records(part)
        elapsed += time.perf_counter() - t0
        done += len(part)
        if elapsed >= min_measure and setup + elapsed / done * len(order) > budget:
            break
        if done * 10 // len(order) > (done - len(part)) * 10 // len(order):
            log(f"    {done:,}/{len(order):,} records, {setup + elapsed:.1f}s")
    return Scanned(setup, elapsed, [records[i].id for i in order[:done]], pairs)


# -- children: one measurement per process ------------------------------------------------------


def child_quality(args: argparse.Namespace) -> dict[str, Any]:
    data = labelled_set(args.teams, WEEKS, SEED)
    out: dict[str, Any] = {
        "teams": args.teams,
        "records": len(data.records),
        "candidates": len(data.candidates),
        "true_pairs": len(data.truth),
        "cases": case_counts(data),
    }
    t0 = time.perf_counter()
    result = match(data.records, data.candidates, profile(args.profile))
    out["ours_s"] = time.perf_counter() - t0
    ours = evaluate(result.pairs, data, result.stats)
    out["ours"] = scores_dict(ours)
    out["ours_stats"] = dict(result.stats)
    out["ours_all"] = link_quality(result.pairs, data)
    out["ours_auto"] = auto_quality(ours)
    log(f"  quality: match {out['ours_s']:.1f}s; naive full scan ...")
    scanned = scan(naive_scanner, data.records, data.candidates, math.inf, math.inf, 500)
    pairs = scanned.pairs
    out["naive_s"] = scanned.scaled_s(len(data.records))
    naive = evaluate(pairs, data)
    out["naive"] = scores_dict(naive)
    out["naive_all"] = link_quality(pairs, data)
    return out


def speed_set(args: argparse.Namespace) -> EvalSet:
    return trimmed(labelled_set(args.teams, WEEKS, SEED), args.n, args.n)


def child_ours(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    if args.scale_teams:
        data = trimmed(labelled_set(args.scale_teams, WEEKS, SEED), args.scale_records, None)
    else:
        data = speed_set(args)
    out: dict[str, Any] = {
        "generate_s": time.perf_counter() - t0,
        "records": len(data.records),
        "candidates": len(data.candidates),
        "true_pairs": len(data.truth),
        "rss_base_mib": maxrss_mib(),
    }
    if args.trace:
        tracemalloc.start()
        result = match(data.records, data.candidates, profile(args.profile))
        out["trace_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        return out
    t0 = time.perf_counter()
    result = match(data.records, data.candidates, profile(args.profile))
    out["match_s"] = time.perf_counter() - t0
    out["rss_peak_mib"] = maxrss_mib()
    scores = evaluate(result.pairs, data, result.stats)
    out["scores"] = scores_dict(scores)
    out["stats"] = dict(result.stats)
    out["all"] = link_quality(result.pairs, data)
    out["auto"] = auto_quality(scores)
    return out


def child_naive(args: argparse.Namespace) -> dict[str, Any]:
    data = speed_set(args)
    out: dict[str, Any] = {
        "records": len(data.records),
        "candidates": len(data.candidates),
        "rss_base_mib": maxrss_mib(),
    }
    budget, measure = (args.naive_budget, 10.0) if not args.quick else (math.inf, math.inf)
    scanned = scan(naive_scanner, data.records, data.candidates, budget, measure, 200)
    pairs, done = scanned.pairs, scanned.done
    out["measured_s"], out["measured_records"] = scanned.setup_s + scanned.loop_s, len(done)
    out["scaled_s"] = scanned.scaled_s(len(data.records))
    out["rss_peak_mib"] = maxrss_mib()
    if len(done) == len(data.records):
        out["quality"] = link_quality(pairs, data)
    # The seed's loop with no pre-check at all: check_pair on every same-group pair. Always
    # measured on a sample and scaled; its links must equal the pre-checked scan's.
    log("  naive without pre-checks (check_pair on every same-group pair) ...")

    def literal(candidates: Sequence[Side]) -> Callable[[Sequence[Side]], list[Pair]]:
        return naive_scanner(candidates, prefilter=False)

    lit = scan(literal, data.records, data.candidates, 0.0, args.literal_measure, 20)
    lit_done, lit_pairs = lit.done, lit.pairs
    out["literal_measured_s"], out["literal_records"] = lit.setup_s + lit.loop_s, len(lit_done)
    out["literal_scaled_s"] = lit.scaled_s(len(data.records))
    sampled = set(lit_done) & set(done)
    out["literal_compared"] = len(sampled)
    out["literal_same_links"] = {
        (p.left_id, p.right_id) for p in pairs if p.left_id in sampled
    } == {(p.left_id, p.right_id) for p in lit_pairs if p.left_id in sampled}
    return out


def rl_frames(data: EvalSet) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    def ref_token(texts: Sequence[str | None], fallback: str) -> str:
        for text in texts:
            if text:
                tokens = sorted(reference_tokens(text))
                if tokens:
                    return tokens[0]
        return fallback  # unique: never blocks with anything

    def frame(sides: Sequence[Side], prefix: str, record: bool) -> Any:
        rows = {
            "id": [s.id for s in sides],
            "group": [s.group for s in sides],
            "start": [s.date.toordinal() for s in sides],
            "end": [(s.date_until or s.date).toordinal() for s in sides],
            "amount": [abs(float(s.amount)) for s in sides],
            "base": [
                abs(float(s.base_amount)) if s.base_amount is not None else np.nan for s in sides
            ],
            "name": [normalize_name(s.name) for s in sides],
            "text": [
                normalize_name(s.aliases[0]) if s.aliases else normalize_name(s.name) for s in sides
            ],
            "ref": [
                ref_token([s.reference] if record else [*s.names, s.reference], f"{prefix}{k}")
                for k, s in enumerate(sides)
            ],
        }
        df = pd.DataFrame(rows, index=pd.Index([s.id for s in sides], name="id"))
        df["log_amount"] = np.log(df["amount"].clip(lower=0.01))
        df["log_base"] = np.log(df["base"].clip(lower=0.01))
        return df

    left = frame(data.records, "-l", True)
    right = frame(data.candidates, "-r", False)
    codes = {g: k for k, g in enumerate(sorted(set(left["group"]) | set(right["group"])))}
    for df in (left, right):
        # (group, amount) as one sortable number: neighbours in the sort share a group.
        df["group_amount"] = df["group"].map(codes).astype("int64") * 10**13 + (
            (df["amount"] * 100).round().astype("int64")
        )
    return left, right


def rl_link(left: Any, right: Any) -> tuple[list[Pair], dict[str, float]]:
    import numpy as np
    import recordlinkage as rl

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    indexer = rl.Index()
    indexer.add(rl.index.SortedNeighbourhood("group_amount", window=RL_WINDOW, block_on=["group"]))
    indexer.add(rl.index.Block(["group", "ref"]))
    links = indexer.index(left, right)
    links = links.drop_duplicates()
    times["index_s"] = time.perf_counter() - t0
    times["candidate_pairs"] = len(links)

    def days_closeness(start: Any, end: Any, day: Any) -> Any:
        days = np.maximum(np.maximum(day - end, start - day), 0).astype(float)
        return np.clip(np.where(days <= 5, 1 - 0.1 * days, 0.5 * (2 - days / 5)), 0, 1)

    t0 = time.perf_counter()
    tol, zero_at = math.log(1.005), math.log(1.025)
    compare = rl.Compare()
    compare.numeric("log_amount", "log_amount", method="linear", offset=tol,
                    scale=(zero_at - tol) / 2, label="amount")  # fmt: skip
    compare.numeric("log_base", "log_base", method="linear", offset=tol,
                    scale=(zero_at - tol) / 2, missing_value=0.0, label="base")  # fmt: skip
    compare.compare_vectorized(days_closeness, ["start", "end"], "start", label="date")
    compare.string("name", "name", method="jarowinkler", threshold=0.8, label="name")
    compare.string("name", "text", method="jarowinkler", threshold=0.8, label="name_text")
    compare.exact("ref", "ref", label="ref")
    features = compare.compute(links, left, right)
    times["compare_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    amount = features[["amount", "base"]].max(axis=1)
    name = features[["name", "name_text", "ref"]].max(axis=1)
    score = (0.5 * amount + 0.2 * features["date"] + 0.3 * name).round(4)
    chosen = score[score >= 0.8]
    frame = chosen.rename("score").reset_index()
    frame.columns = ["left", "right", "score"]
    frame = frame.sort_values(["left", "score"], ascending=[True, False], kind="stable")
    best = frame.drop_duplicates("left", keep="first")
    times["classify_s"] = time.perf_counter() - t0
    pairs = [
        Pair(
            left_id=str(a),
            right_id=str(b),
            score=float(s),
            decision="auto",
            relation="amount",
            explanation="recordlinkage",
        )
        for a, b, s in best.itertuples(index=False)
    ]
    return pairs, times


def child_rl(args: argparse.Namespace) -> dict[str, Any]:
    import recordlinkage as rl

    data = speed_set(args)
    out: dict[str, Any] = {
        "version": rl.__version__,
        "records": len(data.records),
        "candidates": len(data.candidates),
        "rss_base_mib": maxrss_mib(),
    }
    t0 = time.perf_counter()
    left, right = rl_frames(data)
    out["frames_s"] = time.perf_counter() - t0
    pairs, times = rl_link(left, right)
    out.update(times)
    out["link_s"] = times["index_s"] + times["compare_s"] + times["classify_s"]
    out["rss_peak_mib"] = maxrss_mib()
    out["quality"] = link_quality(pairs, data)
    return out


CHILDREN = {"quality": child_quality, "ours": child_ours, "naive": child_naive, "rl": child_rl}


def run_child(task: str, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        task,
        "--teams",
        str(args.teams),
        "--n",
        str(args.n),
        "--naive-budget",
        str(args.naive_budget),
        "--literal-measure",
        str(args.literal_measure),
        "--profile",
        args.profile,
        *(["--quick"] if args.quick else []),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    log(f"  ({task} {' '.join(extra)}: {time.perf_counter() - t0:.0f}s in its process)")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- report -------------------------------------------------------------------------------------


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f} %"


def verdict(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def secs(x: float) -> str:
    return f"{x:,.2f} s" if x < 100 else f"{x:,.0f} s"


def mib(x: float | None) -> str:
    return "—" if x is None else f"{x:,.0f} MiB"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def report(q: dict, ours: dict, trace: dict | None, naive: dict, rl_: dict, scale: dict,
           scale_trace: dict | None, machine_line: str, total_s: float) -> list[str]:  # fmt: skip
    out: list[str] = [f"machine: {machine_line}", ""]
    o, n = q["ours"], q["naive"]
    out.append(
        f"### Quality (SIMULATED labelled set: {q['teams']} teams x {WEEKS} weeks, "
        f"{q['records']:,} records, {q['candidates']:,} candidates, {q['true_pairs']:,} true pairs)"
    )
    out.append("")
    ok_p = o["auto_precision"] >= TARGET_PRECISION
    ok_r = o["recall"] >= TARGET_RECALL
    ok_t = o["ties_per_100"] <= TARGET_TIES
    out += table(
        ["metric", "target", "bg_agents.defs.reconciliation.matcher", "verdict", "naive seed loop"],
        [
            ["auto-link precision", "≥ 99.5 %", pct(o["auto_precision"]), verdict(ok_p),
             pct(n["auto_precision"])],
            ["recall of true pairs (auto + suggest)", "≥ 95 %", pct(o["recall"]),
             verdict(ok_r), pct(n["recall"]) + " (its links)"],
            ["auto share (true pairs linked with no one looking)", "—", pct(o["auto_share"]),
             "", pct(n["auto_share"])],
            ["ties per 100 records (model calls)", "≤ 5", f"{o['ties_per_100']:.2f}",
             verdict(ok_t), "— (takes the first best)"],
            ["auto links (wrong)", "", f"{o['auto']:,} ({o['auto'] - o['auto_correct']})", "",
             f"{n['auto']:,} ({n['auto'] - n['auto_correct']})"],
            ["suggestions", "", f"{o['suggest']:,}", "", "—"],
            ["F1, auto + suggest", "", f"{q['ours_all']['f1']:.3f}", "",
             f"{q['naive_all']['f1']:.3f}"],
            ["F1, auto links only", "", f"{q['ours_auto']['f1']:.3f}", "",
             f"{q['naive_all']['f1']:.3f}"],
            ["time (one run)", "", secs(q["ours_s"]), "", secs(q["naive_s"])],
        ],
    )  # fmt: skip
    out.append("")
    out += table(
        [
            "case",
            "true pairs",
            "recall: bg_agents.defs.reconciliation.matcher",
            "recall: naive seed loop",
        ],
        [
            [case, f"{q['cases'][case]:,}", pct(rec, 1), pct(n["recall_by_case"][case], 1)]
            for case, rec in o["recall_by_case"].items()
        ],
    )
    if o["wrong_auto"]:
        out += ["", "Wrong auto links (first 5):", ""]
        out += [f"- {w}" for w in o["wrong_auto"]]
    out.append("")

    # speed
    t_ours = ours["match_s"]
    naive_s = naive["scaled_s"]
    naive_full = naive["measured_records"] == naive["records"]
    naive_note = (
        "full run" if naive_full else f"measured on {naive['measured_records']:,} records, scaled"
    )
    lit_note = (
        f"measured on {naive['literal_records']:,} records (every 50th), scaled; "
        f"same links as the pre-checked loop: {'yes' if naive['literal_same_links'] else 'NO'}"
    )
    speedup = naive_s / t_ours
    out.append(
        f"### Speed: {ours['records']:,} records x {ours['candidates']:,} candidates "
        f"({ours['true_pairs']:,} true pairs), each in a fresh process, the median of "
        f"{len(ours['match_s_runs'])} cold runs in turns (matcher {spread(ours['match_s_runs'])}, "
        f"naive scan {spread(naive['scaled_s_runs'])})"
    )
    out.append("")
    nq = naive.get("quality")
    rq = rl_["quality"]

    def qcells(x: dict | None) -> list[str]:
        if x is None:
            return ["—", "—", "—"]
        return [pct(x["precision"]), pct(x["recall"]), f"{x['f1']:.3f}"]

    trace_cell = mib(trace["trace_peak_mib"]) if trace else "—"
    out += table(
        ["matcher", "time", "vs ours", "peak RSS", "RSS over data", "tracemalloc peak",
         "precision", "recall", "F1", "note"],
        [
            ["bg_agents.defs.reconciliation.matcher (auto + suggest)", secs(t_ours), "1.0×",
             mib(ours["rss_peak_mib"]), mib(ours["rss_peak_mib"] - ours["rss_base_mib"]),
             trace_cell, *qcells(ours["all"]), ""],
            ["bg_agents.defs.reconciliation.matcher (auto links only)", "″", "", "", "", "",
             *qcells(ours["auto"]), "same run"],
            ["naive seed loop, cheap pre-checks", secs(naive_s), f"{speedup:.1f}×",
             mib(naive["rss_peak_mib"]), mib(naive["rss_peak_mib"] - naive["rss_base_mib"]),
             "—", *qcells(nq), naive_note],
            ["naive seed loop, check_pair on every same-group pair",
             secs(naive["literal_scaled_s"]), f"{naive['literal_scaled_s'] / t_ours:.0f}×",
             "", "", "", "", "", "", lit_note],
            [f"recordlinkage {rl_['version']} (index + compare + classify)",
             secs(rl_["link_s"]), f"{rl_['link_s'] / t_ours:.1f}×",
             mib(rl_["rss_peak_mib"]), mib(rl_["rss_peak_mib"] - rl_["rss_base_mib"]), "—",
             *qcells(rq),
             f"{rl_['candidate_pairs']:,} candidate pairs; index {secs(rl_['index_s'])}, "
             f"compare {secs(rl_['compare_s'])}, classify {secs(rl_['classify_s'])}; "
             f"+ {secs(rl_['frames_s'])} to build its DataFrames"],
        ],
    )  # fmt: skip
    out.append("")
    out.append(
        f"naive / ours: **{speedup:.1f}×** (target ≥ {TARGET_SPEEDUP:.0f}×: "
        f"{verdict(speedup >= TARGET_SPEEDUP)}); ours: {ours['stats']['candidate_pairs']:,} "
        f"candidate pairs scored, vs {ours['records'] * ours['candidates']:,} pairs a full "
        "scan looks at."
    )
    out.append("")
    out.append(f"recordlinkage blocking: {RL_BLOCKING}.")
    out.append("")
    out.append(f"recordlinkage comparisons: {RL_COMPARE}.")
    out.append("")
    out.append(
        "Precision of bg_agents.defs.reconciliation.matcher over auto + suggest counts every "
        "suggestion of a tie (several per record) as a proposal; the naive loop and recordlinkage "
        "propose one pair per record. Recall is of all true pairs (partial payments: several per "
        "record)."
    )
    out.append("")

    # scale
    ss = scale["scores"]
    ok_s = scale["match_s"] <= TARGET_SCALE_S
    out.append("### Scale")
    out.append("")
    out += table(
        ["records x candidates", "generate (not timed)", "match", "target", "peak RSS",
         "RSS over data", "tracemalloc peak", "candidate pairs", "auto precision", "recall",
         "ties / 100"],
        [[
            f"{scale['records']:,} x {scale['candidates']:,}", secs(scale["generate_s"]),
            secs(scale["match_s"]), f"≤ {TARGET_SCALE_S:.0f} s: {verdict(ok_s)}",
            mib(scale["rss_peak_mib"]), mib(scale["rss_peak_mib"] - scale["rss_base_mib"]),
            mib(scale_trace["trace_peak_mib"]) if scale_trace else "—",
            f"{scale['stats']['candidate_pairs']:,}", pct(ss["auto_precision"]),
            pct(ss["recall"]), f"{ss['ties_per_100']:.2f}",
        ]],
    )  # fmt: skip
    out.append("")
    out.append(
        "Peak RSS: the measuring process's maximum resident set (data included); RSS over "
        "data: that peak minus the peak right after the data was generated; tracemalloc "
        "peak: Python allocations during `match` alone, in a separate untimed run."
    )
    out.append("")
    out.append(f"Benchmark total runtime: {total_s:.0f} s.")
    return out


def median_speed(args: argparse.Namespace) -> tuple[dict, dict]:
    """The matcher and the naive scan in turns, ``args.repeat`` times each, fresh processes; the
    median run of each, with the range of its times (this shared machine varies 10-40 %)."""
    ours_runs, naive_runs = [], []
    for k in range(args.repeat):
        log(f"  run {k + 1}/{args.repeat}: ours, naive ...")
        ours_runs.append(run_child("ours", args))
        naive_runs.append(run_child("naive", args))
    ours = sorted(ours_runs, key=lambda r: r["match_s"])[len(ours_runs) // 2]
    naive = sorted(naive_runs, key=lambda r: r["scaled_s"])[len(naive_runs) // 2]
    ours["match_s_runs"] = [r["match_s"] for r in ours_runs]
    naive["scaled_s_runs"] = [r["scaled_s"] for r in naive_runs]
    return ours, naive


def spread(times: list[float]) -> str:
    return f"{secs(min(times))}-{secs(max(times))}" if len(times) > 1 else ""


def growth_table(runs: list[tuple[dict, dict]]) -> list[str]:
    """Ours vs the pre-checked naive scan at growing sizes (same kind of data)."""
    out = ["", "### Growth: the matcher vs the pre-checked naive scan", ""]
    rows = []
    for ours, naive in runs:
        scaled = naive["measured_records"] < naive["records"]
        naive_s = naive["scaled_s"]
        rows.append([
            f"{ours['records']:,} x {ours['candidates']:,}", secs(ours["match_s"]),
            spread(ours["match_s_runs"]), secs(naive_s) + (" (scaled)" if scaled else ""),
            spread(naive["scaled_s_runs"]), f"{naive_s / ours['match_s']:.1f}×",
        ])  # fmt: skip
    out += table(["records x candidates", "matcher (median)", "its runs",
                  "naive scan, pre-checked (median)", "its runs", "naive / ours"],
                 rows)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--teams", type=int, default=14, help="teams of the ~10k quality set")
    parser.add_argument("--n", type=int, default=10_000, help="records and candidates, speed")
    parser.add_argument("--scale-teams", type=int, default=158)
    parser.add_argument("--scale-records", type=int, default=100_000)
    parser.add_argument(
        "--naive-budget", type=float, default=180.0, help="scale the naive loop beyond this (s)"
    )
    parser.add_argument(
        "--literal-measure", type=float, default=20.0, help="seconds of the no-pre-check loop"
    )
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument(
        "--repeat", type=int, default=3, help="speed runs of each, in turns (the median counts)"
    )
    parser.add_argument(
        "--profile", default="learned", help="the matcher's profile measured (learned, seed, ...)"
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.teams, args.n, args.scale_teams, args.scale_records = 2, 800, 4, 2_000
        args.literal_measure, args.repeat = 0.5, 1
    if args.child:
        if not args.scale:
            args.scale_teams = 0
        print(json.dumps(CHILDREN[args.child](args)))
        return

    from benchmarks.ingest_and_metrics import machine

    require_peer("recordlinkage")
    started = time.perf_counter()
    machine_line = machine()
    print(f"machine: {machine_line}", flush=True)
    log("quality ...")
    q = run_child("quality", args)
    log("speed: ours and naive ...")
    ours, naive = median_speed(args)
    trace = None if args.no_trace else run_child("ours", args, "--trace")
    log("speed: recordlinkage ...")
    rl_ = run_child("rl", args)
    growth = []
    if not args.quick:  # how the gap grows: the scan is quadratic, the matcher near-linear
        for factor in (2, 3):
            bigger = argparse.Namespace(**{**vars(args), "teams": args.teams * factor,
                                           "n": args.n * factor})  # fmt: skip
            log(f"growth: {bigger.n:,} x {bigger.n:,} ...")
            growth.append(median_speed(bigger))
    log("scale ...")
    scale_args = ["--scale", "--scale-teams", str(args.scale_teams),
                  "--scale-records", str(args.scale_records)]  # fmt: skip
    scale = run_child("ours", args, *scale_args)
    scale_trace = None if args.no_trace else run_child("ours", args, *scale_args, "--trace")
    total = time.perf_counter() - started
    lines = report(q, ours, trace, naive, rl_, scale, scale_trace, machine_line, total)
    lines += growth_table([(ours, naive), *growth])
    text = "\n".join(lines[2:])
    print()
    print(text)
    if not args.quick:
        saved = RESULTS.with_name(f"matching_{args.profile}.md")
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(f"# Matching benchmark ({args.profile})\n\n" + "\n".join(lines) + "\n")
        print(f"\nsaved to {saved}")


if __name__ == "__main__":
    main()
