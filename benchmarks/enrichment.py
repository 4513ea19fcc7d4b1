"""Benchmark: how well enrichment names and categorizes real-looking bank descriptors.

    PYTHONPATH=. python benchmarks/enrichment.py [--source rules] [--by country --by style]
                                                 [--errors 20] [--speed-passes 20]

The labelled set (benchmarks/data/descriptors_labelled.csv) was written and labelled by hand,
without looking at the rules or the demo world, so it measures them rather than echoing them:
descriptors as banks and card exports show them, across many countries and processors, both
directions, with local shops and cryptic codes that no rule can know (labelled ``none`` when
even a careful accountant could not tell).

Each *source* is one function that categorizes every labelled row (``rules`` today; a model
source adds itself to ``SOURCES``) and becomes a column group in every table:
- coverage: share of rows the source put in a category;
- precision: share of those that match the label (a category on a ``none`` row is wrong);
- accuracy: share of all rows right (no category counts as right only on a ``none`` row);
- merchant: share of rows labelled with a merchant whose name the source got (case- and
  accent-insensitive equality, or a close name: see ``merchant_matches``).
A category outside the taxonomy counts as a category and is always wrong; an exception in the
source counts as no answer; both are counted separately. Also printed: the rules path's speed
in descriptors per second (issue 17's target is >= 20,000/s).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest_and_metrics import machine  # noqa: E402
from bg_agents.defs.enrichment.taxonomy import CATEGORIES  # noqa: E402

LABELLED = Path(__file__).resolve().parent / "data" / "descriptors_labelled.csv"
NONE = "none"  # the label for "nothing can know"; also what a source's None becomes
TARGET_RULES_PER_S = 20_000
GROUPINGS = ("country", "style", "direction", "category")
# Words skipped when matching a merchant by its first word: "The Local Taphouse" must not match
# anything that merely contains "the".
ARTICLES = frozenset(
    {"the", "a", "an", "la", "le", "les", "el", "los", "das", "der", "die", "de", "del", "di", "du"}
)


@dataclass(frozen=True)
class Labelled:
    descriptor: str
    counterparty: str | None
    incoming: bool
    merchant: str  # "" when there is none
    category: str  # a taxonomy name or NONE
    country: str
    style: str
    note: str


@dataclass(frozen=True)
class Prediction:
    category: str  # a category name as given (maybe outside the taxonomy) or NONE
    merchant: str  # "" when the source named none
    failed: bool = False  # the source raised on this row


# A source answers every row, in order; batching is the source's business (a model source
# sends many descriptors per call).
Source = Callable[[Sequence[Labelled]], list[Prediction]]


# -- the labelled set ---------------------------------------------------------------------------


def load_labelled(path: Path = LABELLED) -> list[Labelled]:
    """The hand-labelled rows; a label outside the taxonomy is a typo in the set, so it stops."""
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        for line, raw in enumerate(csv.DictReader(fh), start=2):
            category = raw["category"].strip()
            if category != NONE and category not in CATEGORIES:
                raise ValueError(f"{path.name}:{line}: category {category!r} not in taxonomy")
            if raw["direction"] not in ("in", "out"):
                raise ValueError(f"{path.name}:{line}: direction must be in or out")
            rows.append(
                Labelled(
                    descriptor=raw["descriptor"],
                    counterparty=raw["counterparty"].strip() or None,
                    incoming=raw["direction"] == "in",
                    merchant=raw["merchant"].strip(),
                    category=category,
                    country=raw["country"].strip(),
                    style=(raw.get("style") or "").strip() or "-",
                    note=raw.get("note") or "",
                )
            )
    return rows


# -- sources ------------------------------------------------------------------------------------


def rules_source(rows: Sequence[Labelled]) -> list[Prediction]:
    """The deterministic path: ``recognize`` per row, whatever the rules currently return."""
    from bg_agents.defs.enrichment.rules import recognize

    out = []
    for row in rows:
        try:
            got = recognize(row.descriptor, row.counterparty, row.incoming)
            category, merchant = str(got.category or NONE), str(got.merchant or "")
        except Exception:  # a crash on one descriptor is a measured failure, not the end
            out.append(Prediction(category=NONE, merchant="", failed=True))
            continue
        out.append(Prediction(category=category, merchant=merchant))
    return out


SOURCES: dict[str, Source] = {"rules": rules_source}


# -- scoring ------------------------------------------------------------------------------------


# Banks spell umlauts out (MUENCHEN, BAECKEREI); labels use the letters.
SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _fold(text: str) -> str:
    """Case- and accent-insensitive, width-normalized (half-width katakana, full-width Latin)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(SPELLED_OUT))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def _words(text: str) -> list[str]:
    return "".join(ch if ch.isalnum() else " " for ch in _fold(text)).split()


def _significant(text: str) -> list[str]:
    words = _words(text)
    return [w for w in words if w not in ARTICLES] or words


def merchant_exact(predicted: str, label: str) -> bool:
    return bool(predicted) and _fold(predicted) == _fold(label)


def merchant_matches(predicted: str, label: str) -> bool:
    """Equal, or a close name: it starts with the label's first significant word and is at most
    one word longer ("Starbucks Store" for Starbucks). A looser "the word appears anywhere" would
    credit a source that echoes the raw descriptor (SQ *BLUE BOTTLE COFFEE OAKLAND CA)."""
    if merchant_exact(predicted, label):
        return True
    got, want = _significant(predicted), _significant(label)
    return bool(got and want) and got[0] == want[0] and len(got) <= len(want) + 1


@dataclass
class Score:
    rows: int = 0
    categorized: int = 0
    categorized_right: int = 0
    right: int = 0
    with_merchant: int = 0
    merchant_right: int = 0
    merchant_exact: int = 0
    outside_taxonomy: int = 0
    failed: int = 0

    def add(self, label: Labelled, got: Prediction) -> None:
        self.rows += 1
        self.failed += got.failed
        if got.category != NONE:
            self.categorized += 1
            self.outside_taxonomy += got.category not in CATEGORIES
            self.categorized_right += got.category == label.category
        self.right += got.category == label.category
        if label.merchant:
            self.with_merchant += 1
            self.merchant_right += merchant_matches(got.merchant, label.merchant)
            self.merchant_exact += merchant_exact(got.merchant, label.merchant)

    @property
    def coverage(self) -> float | None:
        return _share(self.categorized, self.rows)

    @property
    def precision(self) -> float | None:
        return _share(self.categorized_right, self.categorized)

    @property
    def accuracy(self) -> float | None:
        return _share(self.right, self.rows)

    @property
    def merchant(self) -> float | None:
        return _share(self.merchant_right, self.with_merchant)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def group_key(row: Labelled, by: str) -> str:
    if by == "direction":
        return "in" if row.incoming else "out"
    return getattr(row, by)


def score_groups(
    rows: Sequence[Labelled], predictions: dict[str, list[Prediction]], by: str | None
) -> dict[str, dict[str, Score]]:
    """group -> source -> Score; ``by`` None gives the single group "all"."""
    groups: dict[str, dict[str, Score]] = {}
    for i, row in enumerate(rows):
        key = "all" if by is None else group_key(row, by)
        per_source = groups.setdefault(key, {name: Score() for name in predictions})
        for name, preds in predictions.items():
            per_source[name].add(row, preds[i])
    return groups


# -- output -------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def table(title: str, groups: dict[str, dict[str, Score]], sources: Iterable[str]) -> str:
    """A markdown table, largest group first; one column group per source."""
    names = list(sources)
    head = [title, "rows"]
    for name in names:
        head += [f"{name} coverage", f"{name} precision", f"{name} accuracy", f"{name} merchant"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = sorted(groups, key=lambda k: (-next(iter(groups[k].values())).rows, k))
    for key in order:
        per_source = groups[key]
        cells = [key, str(next(iter(per_source.values())).rows)]
        for name in names:
            s = per_source[name]
            cells += [_pct(s.coverage), _pct(s.precision), _pct(s.accuracy), _pct(s.merchant)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def errors(
    rows: Sequence[Labelled], preds: list[Prediction], limit: int
) -> list[tuple[str, str, str]]:
    """(descriptor, label, answer) of the first ``limit`` wrong categories."""
    wrong = [
        (row.descriptor, row.category, got.category)
        for row, got in zip(rows, preds, strict=True)
        if got.category != row.category
    ]
    return wrong[:limit]


def rules_speed(rows: Sequence[Labelled], passes: int) -> tuple[float, float]:
    """Descriptors per second on the rules path: the first pass and the median of ``passes``.

    The set is small, so it is run several times; a cache in the rules makes later passes faster
    than fresh descriptors would be, which is why the first pass is printed too.
    """
    from bg_agents.defs.enrichment.rules import recognize

    args = [(r.descriptor, r.counterparty, r.incoming) for r in rows]
    rates = []
    for _ in range(max(1, passes)):
        start = time.perf_counter()
        for descriptor, counterparty, incoming in args:
            with contextlib.suppress(Exception):  # failures are counted by the scoring pass
                recognize(descriptor, counterparty, incoming)
        rates.append(len(args) / max(time.perf_counter() - start, 1e-9))
    return rates[0], statistics.median(rates)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    parser.add_argument(
        "--source",
        action="append",
        choices=sorted(SOURCES),
        help="a source to measure (repeatable; default: all)",
    )
    parser.add_argument(
        "--by",
        action="append",
        choices=GROUPINGS,
        help="a breakdown to print (repeatable; default: country and style)",
    )
    parser.add_argument("--errors", type=int, default=0, help="list N wrong categories per source")
    parser.add_argument("--speed-passes", type=int, default=20, help="0 skips the speed line")
    args = parser.parse_args(argv)

    rows = load_labelled(args.labelled)
    names = args.source or list(SOURCES)
    predictions = {}
    for name in names:
        preds = SOURCES[name](rows)
        if len(preds) != len(rows):
            raise RuntimeError(f"source {name!r} answered {len(preds)} of {len(rows)} rows")
        predictions[name] = preds

    unknowable = sum(r.category == NONE for r in rows)
    print(f"# Enrichment on {len(rows)} hand-labelled descriptors ({args.labelled.name})")
    print(f"machine: {machine()}")
    print(
        f"{len({r.country for r in rows})} countries, {len({r.style for r in rows})} styles, "
        f"{sum(r.incoming for r in rows)} money in, {unknowable} labelled none\n"
    )
    print(table("set", score_groups(rows, predictions, None), names))
    overall = score_groups(rows, predictions, None)["all"]
    for name in names:
        s = overall[name]
        print(
            f"{name}: {s.categorized}/{s.rows} categorized, {s.categorized_right} right; "
            f"{s.right}/{s.rows} right overall; merchant {s.merchant_right}/{s.with_merchant} "
            f"({s.merchant_exact} exactly); "
            f"outside taxonomy {s.outside_taxonomy}; source errors {s.failed}"
        )
    for by in args.by or ["country", "style"]:
        print()
        print(table(by, score_groups(rows, predictions, by), names))
    for name in names:
        if args.errors:
            print(f"\n{name}: first {args.errors} wrong categories (descriptor | label | answer)")
            for descriptor, label, got in errors(rows, predictions[name], args.errors):
                print(f"  {descriptor} | {label} | {got}")
    if args.speed_passes and "rules" in names:
        first, median = rules_speed(rows, args.speed_passes)
        verdict = "meets" if median >= TARGET_RULES_PER_S else "misses"
        print(
            f"\nrules speed: {first:,.0f} descriptors/s first pass, {median:,.0f}/s median of "
            f"{args.speed_passes} passes ({verdict} the {TARGET_RULES_PER_S:,}/s target)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
