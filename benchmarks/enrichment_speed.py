"""Benchmark: descriptors per second on the enrichment rules path (issue 17 target: >= 20,000/s).

    PYTHONPATH=. python benchmarks/enrichment_speed.py [--lines 100000] [--repeat 3] [--seed 7]

Generates a mix of bank lines in the shapes banks print (card networks, Square/Toast/PayPal/
SumUp/Zettle prefixes, SEPA and UPI transfers, direct debits, fees, ATM withdrawals, small shops
no list knows) with fresh store numbers, dates, card masks, references and amounts, so most
lines are distinct, like a day of real traffic. Then, single-threaded:

- compile: loading and compiling merchant_list.toml (once per process);
- cold: ``recognize`` with its per-line cache cleared and the per-word cache emptied (the
  mix's repeated lines, such as ``MONTHLY ACCOUNT FEE``, then hit it, as in a day of traffic);
- uncached: ``recognize_uncached`` (no per-line cache; words already classified), best of
  ``--repeat``;
- warm: ``recognize`` again over the same lines (all cached), best of ``--repeat``.

Both wall and CPU time are printed: on a shared machine CPU time is the steadier number.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest_and_metrics import machine  # noqa: E402
from bg_agents.defs.enrichment import rules  # noqa: E402
from bg_agents.defs.enrichment.merchants import vocabulary  # noqa: E402

# {n}: a store number, {d}: a date, {r}: a reference, {a}: an amount, {c}: a city tail,
# {p}: a person. Written for this benchmark from how statements look, not from the list.
SHAPES = [
    "STARBUCKS STORE {n} {c}",
    "SQ *BLUE BOTTLE COFFEE {n} {c}",
    "SQ *CORNER FLOWER STAND {c}",
    "TST* JOES PIZZA {n} {c}",
    "PURCHASE AUTHORIZED ON {d} WHOLEFDS {n} {c}",
    "CARD {n} TESCO STORES {n} {c}",
    "KARTENZAHLUNG REWE SAGT DANKE {n} {c}",
    "CB CARREFOUR {d} {c}",
    "AMZN Mktp US*{r}",
    "PAYPAL *SPOTIFYAB {r} LU",
    "PAYPAL *{p}",
    "UBER *TRIP HELP.UBER.COM",
    "UBER *EATS PENDING",
    "GOOGLE *ADS{r}",
    "AWS EMEA aws.amazon.co",
    "APPLE.COM/BILL 866-712-7753 CA",
    "SHELL OIL {n} {c}",
    "UNITED {r} UNITED.COM TX",
    "MARRIOTT HOTELS {n} {c}",
    "SUMUP *BAECKEREI SCHMIDT {c}",
    "IZ *KAFFEEBAR {n}",
    "DD *DOORDASH CHIPOTLE",
    "EFTPOS WOOLWORTHS {n} {c}",
    "UPI/DR/{r}/SWIGGY/YESB/swiggy@axis/Payment",
    "UPI/CR/{r}/{p}/SBIN/x@oksbi/NA",
    "PIX ENVIADO - IFOOD",
    "SEPA CT {p} MIETE {d}",
    "SEPA-GUTSCHRIFT ACME GMBH RE {r}",
    "LASTSCHRIFT TELEKOM DEUTSCHLAND {r}",
    "PRLV SEPA ORANGE SA {r}",
    "HMRC VAT {r}",
    "FINANZAMT MUENCHEN STNR {r}",
    "MONTHLY ACCOUNT FEE",
    "INTEREST PAID {d}",
    "ATM WITHDRAWAL {d} XXXX{n}",
    "ZELLE TO {p} {d}",
    "WIRE TRANSFER {p} {a} USD",
    "STRIPE TRANSFER ST-{r}",
    "HOTEL ZUR POST {c}",
    "RISTORANTE DA MARIO {c}",
    "MEADOWLARK HARDWARE  {c}",
    "KWIK STOP {n} {c}",
    "POS {n} NAGARJUNA TIFFINS {c}",
    "{p} {r} {a} EUR",
]
CITIES = [
    "SEATTLE WA",
    "OAKLAND CA",
    "NEW YORK NY",
    "LONDON GB",
    "BERLIN DE",
    "PARIS FR",
    "MUNCHEN",
    "SYDNEY AU",
    "MUMBAI IN",
    "SAO PAULO BR",
    "SMALLVILLE KS",
    "GREENVILLE SC",
]
PEOPLE = ["JOHN SMITH", "MARIA SCHULZ", "PRIYA SHARMA", "LUCAS OLIVEIRA", "ANNA KOWALSKA"]


def generate(count: int, seed: int) -> list[tuple[str, bool]]:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        shape = rng.choice(SHAPES)
        line = shape.format(
            n=rng.randint(1, 99999),
            d=f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}",
            r="".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(12)),
            a=f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}",
            c=rng.choice(CITIES),
            p=rng.choice(PEOPLE),
        )
        incoming = any(w in shape for w in ("GUTSCHRIFT", "INTEREST", "STRIPE", "UPI/CR"))
        lines.append((line, incoming))
    return lines


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    lines = generate(args.lines, args.seed)
    distinct = len({line for line, _ in lines})

    wall, cpu = timed(vocabulary)
    print(f"machine: {machine()}")
    print(f"lines: {len(lines):,} ({distinct:,} distinct); compile the list: {wall * 1000:.0f} ms")

    def run(fn: Callable[[str, str | None, bool], object]) -> Callable[[], None]:
        def go() -> None:
            for line, incoming in lines:
                fn(line, None, incoming)

        return go

    rows = []
    vocabulary().token_bits.clear()
    vocabulary().token_stems.clear()
    rules.clear_cache()
    rows.append(("cold (line and word caches empty)", *timed(run(rules.recognize))))
    for label, fn in (
        ("uncached (no line cache)", rules.recognize_uncached),
        ("warm (every line cached)", rules.recognize),
    ):
        best = min((timed(run(fn)) for _ in range(args.repeat)), key=lambda t: t[1])
        rows.append((label, *best))

    print()
    print("| path | lines/s (wall) | lines/s (CPU) | us/line (CPU) |")
    print("|---|---:|---:|---:|")
    for label, wall, cpu in rows:
        print(
            f"| {label} | {len(lines) / wall:,.0f} | {len(lines) / cpu:,.0f} "
            f"| {cpu / len(lines) * 1e6:.1f} |"
        )
    categorized = sum(
        1 for line, incoming in lines if rules.recognize(line, None, incoming).category
    )
    print(f"\ncategorized by the rules: {categorized / len(lines):.1%} of the generated mix")


if __name__ == "__main__":
    main()
