"""``bg-agents reminders settings`` and ``reminders customer``: how a team reminds its customers.

Customer payment reminders are off until a team turns them on here, and reach only customers
opted in here. Each command prints the settings in force after the change, so running one without
options shows them.
"""

from __future__ import annotations

import argparse
import json


def _team_lines(slug: str, s) -> list[str]:  # type: ignore[no-untyped-def]
    steps = ", ".join(f"{d:+d}" if d < 0 else str(d) for d in s.steps)
    details = (s.payment_details or "(none)").replace("\n", "\n" + " " * 20)
    return [
        f"{slug}: customer payment reminders {'on' if s.customer_reminders else 'off'}",
        f"  steps:            {steps} (days after the due date; negative: before)",
        f"  reply-to:         {s.reply_to or '(none: replies go to the sender address)'}",
        f"  payment details:  {details}",
    ]


def cmd_settings(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.reminders.settings import (
        check_payment_details,
        check_reply_to,
        parse_steps,
        team_id_of,
        update_team_settings,
    )

    # Every value is checked before the database is opened: a typo costs no connection.
    steps = parse_steps(args.steps) if args.steps is not None else None
    if args.reply_to and args.reply_to.strip():
        check_reply_to(args.reply_to)
    if args.payment_details is not None:
        check_payment_details(args.payment_details)
    on = None if args.customer_reminders is None else args.customer_reminders == "on"
    with open_engine().begin() as conn:
        s = update_team_settings(
            conn,
            team_id_of(conn, args.team),
            customer_reminders=on,
            steps=steps,
            reply_to=args.reply_to,
            payment_details=args.payment_details,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "team": args.team,
                    "customer_reminders": s.customer_reminders,
                    "steps": list(s.steps),
                    "reply_to": s.reply_to,
                    "payment_details": s.payment_details,
                }
            )
        )
        return 0
    print("\n".join(_team_lines(args.team, s)))
    return 0


def cmd_customer(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.reminders.settings import check_locale, team_id_of, update_customer

    if args.locale and args.locale.strip():
        check_locale(args.locale)
    with open_engine().begin() as conn:
        c = update_customer(
            conn, team_id_of(conn, args.team), args.customer, opt_in=args.opt_in, locale=args.locale
        )
    if args.json:
        print(
            json.dumps(
                {
                    "team": args.team,
                    "customer": c.external_id,
                    "name": c.name,
                    "email": c.email,
                    "opt_in": c.opt_in,
                    "locale": c.locale,
                }
            )
        )
        return 0
    state = "opted in" if c.opt_in else "opted out"
    language = c.locale or "the team's"
    address = c.email or "no e-mail address"
    print(
        f"{args.team}/{c.external_id} ({c.name}, {address}): payment reminders {state}, "
        f"language {language}"
    )
    if c.opt_in and not c.email:
        print("  note: without an e-mail address this customer is sent nothing")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``settings`` and ``customer`` to the ``bg-agents reminders`` group (``sub`` is its
    subparsers action)."""
    settings = sub.add_parser(
        "settings",
        help="a team's customer payment reminders: on/off, steps, reply-to, payment details",
        description="Show or change how a team reminds its customers of unpaid invoices by "
        "e-mail. Off by default; only customers opted in with `reminders customer` are sent "
        "anything. Prints the settings after the change.",
    )
    settings.add_argument(
        "--customer-reminders",
        choices=("on", "off"),
        help="send customer reminders at all (on needs a --reply-to)",
    )
    # argparse reads a value starting with '-' (other than one plain number) as an option: a
    # list that starts with a negative day is given as --steps=-3,1,7,14 (argparse's own syntax).
    settings.add_argument(
        "--steps",
        metavar="DAYS",
        help="comma-separated days after the due date, negative before it (default 1,7,14); "
        "at most 10, each once; a list starting with a negative day needs '=': "
        "--steps=-3,1,7,14",
    )
    settings.add_argument(
        "--reply-to",
        metavar="ADDR",
        help="where customers' replies go (one address; required while customer reminders are "
        "on; '' clears)",
    )
    settings.add_argument(
        "--payment-details",
        metavar="TEXT",
        help="bank details printed in every reminder (up to 1000 characters; '' clears)",
    )
    settings.set_defaults(func=cmd_settings)

    customer = sub.add_parser(
        "customer",
        help="opt one customer in or out of payment reminders, set its language",
        description="Opt a customer in or out of payment reminder e-mails (customers are opted "
        "out until opted in) and set the language they are written in.",
    )
    customer.add_argument(
        "--customer", required=True, metavar="EXTERNAL_ID", help="the customer's external id"
    )
    choice = customer.add_mutually_exclusive_group()
    choice.add_argument(
        "--opt-in",
        dest="opt_in",
        action="store_const",
        const=True,
        default=None,
        help="send this customer payment reminders (when the team has them on)",
    )
    choice.add_argument(
        "--opt-out", dest="opt_in", action="store_const", const=False, help="send it none"
    )
    customer.add_argument(
        "--locale",
        help="language and formats of the reminders, e.g. de_DE or fr ('': the team's)",
    )
    customer.set_defaults(func=cmd_customer)

    for command in (settings, customer):
        command.add_argument(
            "--team", required=True, help="team slug (`bg-agents teams` lists them)"
        )
        command.add_argument("--json", action="store_true", help="print the result as JSON")
