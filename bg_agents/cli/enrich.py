"""``bg-agents enrich`` (what the agent makes of bank descriptors) and ``categorize`` (a person's
correction of one transaction, which the team's later transactions of the merchant follow)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bg_agents.cli.common import open_engine

FIELDS = ("descriptor", "merchant", "category", "confidence", "source")
# Transaction ids are 64-bit signed integers in both databases; a larger number is no id and
# would overflow the driver's parameter binding.
MAX_ID = 2**63 - 1


def transaction_id(text: str) -> int:
    """``--transaction``: a positive 64-bit id, else argparse's one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a transaction id: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"transaction ids are positive numbers: {text!r}")
    if value > MAX_ID:
        raise argparse.ArgumentTypeError(f"no transaction id is above {MAX_ID}: {text!r}")
    return value


def describe(descriptors: list[str], incoming: bool) -> list[dict[str, Any]]:
    """Rules first, then the model's cached answers, then the model if one is configured.

    No team is named, so no team's learned corrections apply: this is what the agent would do
    for a line it has never been corrected on.
    """
    from bg_agents.defs.enrichment.model import categorize_descriptors
    from bg_agents.defs.enrichment.rules import recognize
    from bg_agents.lib.agents.backends import OfflineBackend, build_backend
    from bg_agents.lib.settings import load_llm_settings

    read = [(text, recognize(text, None, incoming)) for text in descriptors]
    open_keys = [rec.descriptor_key for _, rec in read if rec.category is None]
    answers: dict[str, Any] = {}
    if open_keys:
        settings = load_llm_settings()
        # Offline, only the cache is read: nothing is asked, nothing is stored.
        backend = (
            OfflineBackend()
            if settings.backend == "offline"
            else build_backend(settings, settings.api_key())
        )
        from bg_agents.lib.db.engine import DatabaseUnavailable
        from bg_agents.lib.db.migrate import SchemaOutOfDate

        try:
            answers, _ = categorize_descriptors(open_engine(), open_keys, backend)
        except (DatabaseUnavailable, SchemaOutOfDate) as exc:
            # The rules need no database: say what was left out and answer with them alone.
            print(
                f"note: the rules alone answered (the model's cache is kept in the database: "
                f"{exc})",
                file=sys.stderr,
            )
    out = []
    for text, rec in read:
        answer = answers.get(rec.descriptor_key)
        if rec.category is not None:
            merchant, category, confidence, source = (
                rec.merchant, rec.category, rec.confidence, "rule"
            )  # fmt: skip
        elif answer is not None and answer.category is not None:
            merchant = answer.merchant or rec.merchant
            category, confidence, source = answer.category, answer.confidence, "model"
        else:
            merchant = (answer.merchant if answer else None) or rec.merchant
            category, confidence, source = None, 0.0, "none"
        out.append(dict(zip(FIELDS, (text, merchant, category, confidence, source), strict=True)))
    return out


def cmd_enrich(args: argparse.Namespace) -> int:
    rows = describe(args.descriptor, args.incoming)
    if args.json:
        print(json.dumps(rows))
        return 0
    width = min(max(len(r["descriptor"]) for r in rows), 48)
    print(f"{'descriptor':<{width}}  {'merchant':<28}  {'category':<21}  {'conf':>4}  source")
    for r in rows:
        print(
            f"{r['descriptor'][:width]:<{width}}  {(r['merchant'] or '-')[:28]:<28}  "
            f"{r['category'] or '-':<21}  {r['confidence']:>4.2f}  {r['source']}"
        )
    return 0


def cmd_categorize(args: argparse.Namespace) -> int:
    from bg_agents.defs.enrichment.corrections import categorize

    result = categorize(open_engine(), args.team, args.transaction, args.category, args.by)
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    merchant = f" ({result.merchant})" if result.merchant else ""
    print(
        f"transaction {result.transaction_id}{merchant} of {result.team}: {result.category}, "
        f"was {result.previous}"
    )
    if result.learned_since is None:
        print("no merchant recognized: only this transaction changed")
        return 0
    print(
        f"{result.team} learned it: the merchant's transactions from {result.learned_since} on "
        f"follow ({len(result.followed)} already enriched changed now"
        + (f": {', '.join(map(str, result.followed))}" if result.followed else "")
        + "; later ones on their day's run)"
    )
    if not result.offered:
        print("no earlier transaction of the merchant is filed differently")
        return 0
    print(f"{len(result.offered)} earlier transactions of the merchant are filed differently:")
    for o in result.offered:
        print(f"{o.transaction_id:>10}  {o.booking_date}  {o.category:<21}  {o.description[:60]}")
    print(
        f"Correct one with: bg-agents categorize --team {result.team} --transaction ID "
        f"--category {result.category}"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    from bg_agents.defs.enrichment.taxonomy import CATEGORIES

    enrich = sub.add_parser(
        "enrich",
        help="show the merchant and category the agent gives bank descriptors",
        description="What transaction enrichment makes of bank descriptors: the rules, then "
        "the model's cached answers, then the model if one is configured (its answers are "
        "cached as a run's are; offline: rules and cache only, nothing stored). A team's "
        "learned corrections are not applied: they belong to the team's own transactions.",
    )
    enrich.add_argument(
        "--descriptor", action="append", required=True, metavar="TEXT",
        help="a bank line's text, e.g. 'SQ *BLUE BTL 8831 OAKLAND' (repeat for more)",
    )  # fmt: skip
    enrich.add_argument("--incoming", action="store_true", help="the lines are money received")
    enrich.add_argument(
        "--json", action="store_true",
        help="a JSON list of {descriptor, merchant, category, confidence, source}",
    )  # fmt: skip
    enrich.set_defaults(func=cmd_enrich)

    categorize = sub.add_parser(
        "categorize",
        help="correct one transaction's category; the team's later ones of the merchant follow",
        description="Record a person's category for one transaction (never overwritten by the "
        "agent). The team's transactions of the same merchant from that day on follow it; "
        "earlier ones filed differently are listed so you can correct them too. Categories: "
        + ", ".join(CATEGORIES)
        + ".",
    )
    categorize.add_argument("--team", required=True, help="team slug (`bg-agents teams`)")
    categorize.add_argument(
        "--transaction", required=True, type=transaction_id, metavar="ID",
        help="the transaction's id",
    )  # fmt: skip
    categorize.add_argument("--category", required=True, help="one of the taxonomy's names")
    categorize.add_argument("--by", help="who decided (e.g. an e-mail), kept with the correction")
    categorize.add_argument("--json", action="store_true", help="the outcome as JSON")
    categorize.set_defaults(func=cmd_categorize)
