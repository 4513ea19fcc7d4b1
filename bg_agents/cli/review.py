"""``bg-agents review``: the pairs reconciliation left to a person, and their decisions."""

from __future__ import annotations

import argparse
import json
import textwrap
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bg_agents.defs.reconciliation.review import ReviewItem

EVIDENCE_WIDTH = 96


def match_ids(text: str) -> list[int]:
    """``12`` or ``12,15,31``: the ids the list shows in its first column."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a match id or comma-separated list of ids: {text!r}"
        ) from None
    if not ids or min(ids) < 1:
        raise argparse.ArgumentTypeError(f"match ids are positive numbers: {text!r}")
    return ids


def cmd_review(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.reconciliation.matcher import profile
    from bg_agents.defs.reconciliation.review import decide_all, open_items

    decisions = {i: "confirm" for i in args.confirm} | {i: "decline" for i in args.decline}
    both = sorted(set(args.confirm) & set(args.decline))
    if both:
        raise ValueError(
            f"match {', '.join(map(str, both))} is both confirmed and declined: choose one"
        )
    from bg_agents.defs.reconciliation.model_store import MATCHING_PROFILE

    name = args.profile or MATCHING_PROFILE  # by default, what scheduled matching uses
    profile(name)  # checked before anything is opened
    engine = open_engine()
    if decisions:
        outcomes = decide_all(engine, args.team, decisions, profile=name)  # type: ignore[arg-type]
        if args.json:
            print(json.dumps([o.as_dict() for o in outcomes]))
            return 0
        for o in outcomes:
            what = o.status if o.changed else f"already {o.status}, unchanged"
            record = "receipt" if o.record_kind == "document" else "invoice"
            line = f"match {o.match_id} {what}: {record} {o.record_id} with bank row "
            line += f"{o.transaction_id}"
            if o.invoice_state:
                line += f"; the invoice is {o.invoice_state}"
            print(line)
        return 0
    items = open_items(engine, args.team, include_links=args.all)
    if args.json:
        print(json.dumps([item.as_dict() for item in items]))
        return 0
    _print_items(args.team, items, args.all)
    return 0


def _print_items(team: str, items: list[ReviewItem], with_links: bool) -> None:
    what = "suggestions and automatic links" if with_links else "suggestions"
    if not items:
        print(f"{team}: no open {what} to review")
        return
    records = len({(i.record.kind, i.record.id) for i in items})
    print(f"{team}: {len(items)} open {what} for {records} records, best first")
    print(f"{'id':>8}  {'score':>5}  {'kind':<10}  {'date':<10}  {'amount':>14}  name / bank text")
    shown = None
    for item in items:
        r, b = item.record, item.bank
        if shown != (r.kind, r.id):
            shown = (r.kind, r.id)
            label = "receipt" if r.kind == "document" else f"invoice {r.number}"
            state = f" ({r.state}, due {r.due_date})" if r.kind == "invoice" else ""
            options = f", {item.options} options" if item.options > 1 else ""
            print(f"\n{label}{state}{options}")
            print(
                f"{'':>8}  {'':>5}  {'record':<10}  {r.date!s:<10}  "
                f"{_money(r.amount, r.currency):>14}  {r.name}"
            )
        kind = "link" if item.status == "auto" else "suggestion"
        bank_text = " | ".join(t for t in (b.counterparty, b.text) if t)
        print(
            f"{item.match_id:>8}  {item.score:>5.2f}  {kind:<10}  {b.date!s:<10}  "
            f"{_money(b.amount, b.currency):>14}  {bank_text}"
        )
        for line in textwrap.wrap(item.evidence, EVIDENCE_WIDTH):
            print(f"{'':>10}{line}")
    print(
        f"\nDecide with: bg-agents review --team {team} --confirm ID[,ID..] or --decline ID[,ID..]"
    )


def _money(amount: Decimal, currency: str) -> str:
    """Stored amounts carry four decimals; a person reads two, or all that are not zero."""
    exponent = int(amount.normalize().as_tuple().exponent)
    text = f"{amount:,.2f}" if exponent >= -2 else f"{amount.normalize():,f}"
    return f"{text} {currency}"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    review = sub.add_parser(
        "review",
        help="review reconciliation: list suggested pairs, confirm or decline them",
        description="List the pairs reconciliation left to a person (suggestions, with the "
        "matcher's evidence), and confirm or decline them. A decision is stored, then the team "
        "is reconciled again: other proposals for the same record or bank row disappear, a "
        "confirmed pair teaches its names, a declined one is never proposed again. Confirming "
        "an invoice's pair marks it paid; declining its only link makes it owed again.",
    )
    review.add_argument("--team", required=True, help="team slug (`bg-agents teams` lists them)")
    review.add_argument(
        "--all",
        action="store_true",
        help="also list automatic links, so a wrong one can be declined",
    )
    review.add_argument(
        "--confirm",
        type=match_ids,
        action="extend",
        default=[],
        metavar="ID[,ID..]",
        help="confirm these pairs (ids from the list): they become links",
    )
    review.add_argument(
        "--decline",
        type=match_ids,
        action="extend",
        default=[],
        metavar="ID[,ID..]",
        help="decline these pairs: never proposed again",
    )
    review.add_argument(
        "--profile",
        default=None,
        help="the profile the team is reconciled with after a decision; by default the one the "
        "record_matches asset uses (learned: the stored match model, the seed's rules until one "
        "is trained); seed, strict or lenient",
    )
    review.add_argument(
        "--json", action="store_true", help="print the list, or the decisions' outcome, as JSON"
    )
    review.set_defaults(func=cmd_review)
