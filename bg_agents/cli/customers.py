"""``bg-agents customers show|set``: a team's customers with their company facts, and a fact a
person states (it wins over the customer record and the provider, and no run replaces it)."""

from __future__ import annotations

import argparse
import json


def _fact_json(f) -> dict:  # type: ignore[no-untyped-def]
    return {
        "field": f.field,
        "value": f.value,
        "source": f.source,
        "fetched_at": f.fetched_at.isoformat(),
    }


def cmd_show(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.enrichment.customers import show_customers

    with open_engine().connect() as conn:
        customers = show_customers(conn, args.team, args.customer)
    if args.json:
        rows = [
            {
                "customer": c.external_id,
                "name": c.name,
                "status": c.status,
                "profiled_at": c.profiled_at.isoformat() if c.profiled_at else None,
                "facts": [_fact_json(f) for f in c.facts],
            }
            for c in customers
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for c in customers:
        when = f", {c.profiled_at:%Y-%m-%d %H:%M} UTC" if c.profiled_at else ""
        print(f"{args.team}/{c.external_id} ({c.name}): {c.status or 'not enriched yet'}{when}")
        for f in c.facts:
            print(f"  {f.field:<13} {f.value}  [{f.source}, {f.fetched_at:%Y-%m-%d}]")
    if not customers:
        print(f"{args.team} has no customers")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.enrichment.customers import set_person_fact
    from bg_agents.lib import clock

    with open_engine().begin() as conn:
        fact, changed = set_person_fact(
            conn, args.team, args.customer, args.field, args.value, clock.now()
        )
    if args.json:
        print(json.dumps({"customer": args.customer, "changed": changed, **_fact_json(fact)}))
        return 0
    state = "set" if changed else "unchanged"
    print(
        f"{args.team}/{args.customer}: {fact.field} = {fact.value} ({state}, source person: "
        "kept over the customer record and the provider)"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``bg-agents customers`` on the parser."""
    from bg_agents.defs.enrichment.providers import FIELDS

    customers = sub.add_parser(
        "customers",
        help="a team's customers and their company facts: show, set",
        description="Company facts about customers (enrichment): each with its source and when "
        "it was said. For each field the first source that has a value wins: person (set with "
        "`customers set`), customer (the team's customer record: its company and country, "
        "followed when edited), offline (the billing e-mail's domain), the provider.",
    )
    customers_sub = customers.add_subparsers(dest="customers_command", required=True)

    show = customers_sub.add_parser("show", help="the customers' facts and enrichment status")
    show.add_argument("--team", required=True, help="the team's slug")
    show.add_argument("--customer", default=None, help="one customer's external id")
    show.add_argument("--json", action="store_true", help="a JSON list of customers")
    show.set_defaults(func=cmd_show)

    setter = customers_sub.add_parser(
        "set",
        help="state a company fact as a person (wins over the customer record and the "
        "provider; no run replaces it)",
        description="Record a fact a person knows better than the customer record and the "
        "provider: it wins over both and no enrichment run replaces or deletes it. Company "
        "data only: a value with an e-mail address, a phone number or a link is refused; a "
        "country is an ISO 3166 alpha-2 code such as DE, a size band one of the fixed bands, "
        "a logo an https URL.",
    )
    setter.add_argument("--team", required=True, help="the team's slug")
    setter.add_argument("--customer", required=True, help="the customer's external id")
    setter.add_argument("field", choices=FIELDS, help="which fact")
    setter.add_argument("value", help="its value")
    setter.add_argument("--json", action="store_true", help="the stored fact as JSON")
    setter.set_defaults(func=cmd_set)
