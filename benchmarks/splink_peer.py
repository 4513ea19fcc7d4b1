"""Peer run: splink 5 (DuckDB backend) links two transfer CSVs, scored against their truth file.

    python benchmarks/splink_peer.py --left L.csv --right R.csv --truth T.csv [--json]

The CSVs are those of benchmarks/transfers_data.py (id,date,amount,currency,memo,counterparty).
The model follows splink's documented recipe for a two-table link: light standardisation (lower
case, ASCII, no punctuation), several blocking rules unioned, u by random sampling, m by EM over
several sessions with different blocking rules, then ``predict``. Splink scores pairs, it does not
assign; for a one-to-one answer this script keeps a pair when each side is the other's best
(simple mutual best, no global optimisation), as a user of the library would first try.

Reported (also as one JSON line with ``--json``, for a benchmark that runs this as a
subprocess): wall time of train and predict, this process's peak RSS, precision / recall / F1 of
all scored pairs with p >= 0.5 and of the mutual-best links, and the precision and the share of
true pairs found among links with p >= 0.9.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import resource
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

PREDICT_THRESHOLD = 0.5
# Log-scale amount bands ~15 % wide: fees and FX move an amount by up to ~13 %, so most true
# pairs share a band (those at a band's edge rely on the other blocking rules).
AMOUNT_BAND_WIDTH = 1.15
HIGH_CONFIDENCE = 0.9


def _ascii_words(text: str) -> str:
    """Lower case, umlauts spelled out, accents and punctuation gone: splink compares strings
    as they are, and its docs ask for standardised input."""
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _reference_digits(memo: str) -> str | None:
    """The longest digit run once separators inside numbers are dropped, so "INV-2026-00123",
    "INV202600123" and "2026 00123" agree; None below 5 digits (too common to mean much)."""
    joined = re.sub(r"(?<=\d)[\s./-]+(?=\d)", "", memo)
    runs = re.findall(r"\d+", joined)
    best = max(runs, key=len, default="")
    return best if len(best) >= 5 else None


def _longest_token(name: str) -> str | None:
    tokens = [t for t in name.split() if len(t) >= 3]
    return min(tokens, key=lambda t: (-len(t), t)) if tokens else None


def prepare(path: Path) -> pd.DataFrame:
    """One side as splink needs it: ``unique_id`` plus standardised and derived columns."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    memo = raw["memo"].map(_ascii_words)
    counterparty = raw["counterparty"].map(_ascii_words)
    amount = raw["amount"].astype(float)
    empty_to_none = {"": None}
    return pd.DataFrame(
        {
            "unique_id": raw["id"],
            "date": raw["date"],
            "month": raw["date"].str.slice(0, 7),
            "amount": amount,
            "amount_band": np.floor(np.log(amount) / np.log(AMOUNT_BAND_WIDTH)).astype(int),
            "currency": raw["currency"],
            "memo": memo.replace(empty_to_none),
            "memo_prefix": memo.str.slice(0, 10).replace(empty_to_none),
            "memo_digits": raw["memo"].map(_reference_digits),
            "counterparty": counterparty.replace(empty_to_none),
            "counterparty_token": counterparty.map(_longest_token),
        }
    )


def settings(probability_two_random_records_match: float) -> SettingsCreator:
    amount = cl.CustomComparison(
        output_column_name="amount",
        comparison_levels=[
            cll.NullLevel("amount"),
            cll.ExactMatchLevel("amount", term_frequency_adjustments=True),
            cll.PercentageDifferenceLevel("amount", 0.01),
            cll.PercentageDifferenceLevel("amount", 0.03),
            cll.PercentageDifferenceLevel("amount", 0.10),
            cll.PercentageDifferenceLevel("amount", 0.30),
            cll.ElseLevel(),
        ],
    )
    memo = cl.CustomComparison(
        output_column_name="memo",
        comparison_levels=[
            cll.NullLevel("memo"),
            cll.ExactMatchLevel("memo", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("memo", 0.92),
            cll.JaroWinklerLevel("memo", 0.80),
            cll.LevenshteinLevel("memo", 8),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=probability_two_random_records_match,
        blocking_rules_to_generate_predictions=[
            block_on("amount"),
            block_on("memo_digits"),
            block_on("memo_prefix", "amount_band"),
            block_on("counterparty_token", "amount_band"),
        ],
        comparisons=[
            amount,
            cl.AbsoluteDateDifferenceAtThresholds(
                "date", input_is_string=True, metrics=["day"] * 4, thresholds=[1, 3, 7, 21]
            ),
            memo,
            cl.ExactMatch("memo_digits"),
            cl.JaroWinklerAtThresholds("counterparty", [0.92, 0.80]),
            cl.ExactMatch("currency"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def link(left: pd.DataFrame, right: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Train and predict; returns (left_id, right_id, p) for every pair with p >= 0.5."""
    started = time.perf_counter()
    db_api = DuckDBAPI()
    tables = [
        db_api.register(left, dataset_display_name="sent"),
        db_api.register(right, dataset_display_name="received"),
    ]
    # Each left row has at most one partner: the prior is one true pair per right row.
    linker = Linker(tables, settings(1 / len(right)), log_level="WARNING")
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    for rule in (
        block_on("amount", "month"),
        block_on("memo_digits"),
        block_on("counterparty_token", "month"),
    ):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    trained = time.perf_counter()
    scored = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
    pairs = scored.as_pandas_dataframe()[
        ["source_dataset_l", "unique_id_l", "unique_id_r", "match_probability"]
    ]
    predicted = time.perf_counter()
    swapped = pairs["source_dataset_l"] != "sent"
    out = pd.DataFrame(
        {
            "left_id": pairs["unique_id_l"].where(~swapped, pairs["unique_id_r"]),
            "right_id": pairs["unique_id_r"].where(~swapped, pairs["unique_id_l"]),
            "p": pairs["match_probability"],
        }
    )
    return out, {"train_s": trained - started, "predict_s": predicted - trained}


def mutual_best(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs that are both their left row's and their right row's best (ties: lowest id)."""
    ranked = pairs.sort_values(["p", "left_id", "right_id"], ascending=[False, True, True])
    best_left = ranked.drop_duplicates("left_id")
    best_right = ranked.drop_duplicates("right_id")
    return best_left.merge(best_right[["left_id", "right_id"]], on=["left_id", "right_id"])


def scores(found: pd.DataFrame, truth: set[tuple[str, str]]) -> dict[str, float]:
    hits = sum((a, b) in truth for a, b in zip(found["left_id"], found["right_id"], strict=True))
    precision = hits / len(found) if len(found) else 0.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"links": len(found), "precision": precision, "recall": recall, "f1": f1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--left", type=Path, required=True)
    parser.add_argument("--right", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args(argv)

    left, right = prepare(args.left), prepare(args.right)
    with args.truth.open(encoding="utf-8") as handle:
        truth = {(row["left_id"], row["right_id"]) for row in csv.DictReader(handle)}
    pairs, times = link(left, right)
    one_to_one = mutual_best(pairs)
    confident = one_to_one[one_to_one["p"] >= HIGH_CONFIDENCE]
    result = {
        "library": "splink",
        "version": __import__("splink").__version__,
        "rows_left": len(left),
        "rows_right": len(right),
        "train_s": round(times["train_s"], 2),
        "predict_s": round(times["predict_s"], 2),
        "train_predict_s": round(times["train_s"] + times["predict_s"], 2),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pairs_p050": scores(pairs, truth),
        "mutual_best_p050": scores(one_to_one, truth),
        "mutual_best_p090": scores(confident, truth),
        "pairs_p090": scores(pairs[pairs["p"] >= HIGH_CONFIDENCE], truth),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"splink {result['version']}: {len(left)} x {len(right)} rows")
    print(f"train {result['train_s']} s, predict {result['predict_s']} s, "
          f"peak RSS {result['peak_rss_mib']} MiB")  # fmt: skip
    for key in ("pairs_p050", "mutual_best_p050", "mutual_best_p090", "pairs_p090"):
        s = result[key]
        print(f"{key:18} links {s['links']:>7}  precision {s['precision']:.3f}  "
              f"recall {s['recall']:.3f}  F1 {s['f1']:.3f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
