"""A team's customer-reminder settings and a customer's opt-in and language.

Customer e-mails are opt-in twice: the team turns them on (``customer_reminders``), and each
customer is opted in. Until a team saves settings there is no row and the defaults hold: off, on
``rules.DEFAULT_CUSTOMER_STEPS``. Everything a user types is checked here, so the CLI and any later
UI reject the same mistakes with the same one-line ``ValueError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.reminders import rules
from bg_agents.lib.db.models import Customer, ReminderSettings, Team
from bg_agents.lib.db.upsert import insert_missing

MAX_PAYMENT_DETAILS = 1000
# One bare address: no display name, no list, nothing a header could be split on.
_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[A-Za-z0-9-]{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class TeamReminderSettings:
    team_id: int
    customer_reminders: bool
    steps: tuple[int, ...]
    reply_to: str | None
    payment_details: str | None


@dataclass(frozen=True)
class CustomerReminderPrefs:
    customer_id: int
    external_id: str
    name: str
    email: str | None
    opt_in: bool
    locale: str | None  # None: the team's


def _defaults(team_id: int) -> TeamReminderSettings:
    return TeamReminderSettings(team_id, False, tuple(rules.DEFAULT_CUSTOMER_STEPS), None, None)


def _of(row: ReminderSettings | sa.Row) -> TeamReminderSettings:
    return TeamReminderSettings(
        team_id=row.team_id,
        customer_reminders=bool(row.customer_reminders),
        steps=tuple(row.customer_steps or ()),
        reply_to=row.reply_to,
        payment_details=row.payment_details,
    )


def team_settings_many(
    conn: Connection, team_ids: Iterable[int]
) -> dict[int, TeamReminderSettings]:
    """Every given team's settings, the defaults where a team has saved none."""
    ids = list(dict.fromkeys(team_ids))
    found = {
        row.team_id: _of(row)
        for row in conn.execute(
            sa.select(ReminderSettings).where(ReminderSettings.team_id.in_(ids))
        ).all()
    } if ids else {}  # fmt: skip
    return {team_id: found.get(team_id) or _defaults(team_id) for team_id in ids}


def team_settings(conn: Connection, team_id: int) -> TeamReminderSettings:
    return team_settings_many(conn, [team_id])[team_id]


def parse_steps(text: str) -> list[int]:
    """``"-3,1,7,14"`` as the validated, sorted steps."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise ValueError(f"reminder steps are comma-separated days such as -3,1,7,14, not {text!r}")
    steps = []
    low, high = rules.STEP_RANGE
    for part in parts:
        if not re.fullmatch(r"[+-]?\d+", part):
            raise ValueError(f"a reminder step is a whole number of days, not {part!r}")
        if len(part.lstrip("+-")) > 6:  # a whole number, but far out of range (no huge int)
            raise ValueError(
                f"a reminder step must be between {low} and {high} days from the due date, "
                f"not {part}"
            )
        steps.append(int(part))
    return rules.validate_steps(steps)


def check_reply_to(text: str) -> str:
    """One bare e-mail address (``billing@acme.com``), else a clear error."""
    address = text.strip()
    if len(address) > 320 or not _ADDRESS.fullmatch(address):
        raise ValueError(
            f"the reply-to must be one e-mail address such as billing@example.com, not {text!r}"
        )
    return address


def check_payment_details(text: str) -> str | None:
    """Free text for the e-mail (IBAN, BIC, reference); line breaks kept, control characters
    refused; empty clears it."""
    details = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL.search(details):
        raise ValueError("the payment details contain control characters")
    if len(details) > MAX_PAYMENT_DETAILS:
        raise ValueError(
            f"the payment details are {len(details)} characters; at most {MAX_PAYMENT_DETAILS}"
        )
    return details or None


def update_team_settings(
    conn: Connection,
    team_id: int,
    *,
    customer_reminders: bool | None = None,
    steps: Iterable[int] | None = None,
    reply_to: str | None = None,
    payment_details: str | None = None,
) -> TeamReminderSettings:
    """Change what is given (``None``: unchanged; an empty ``reply_to`` or ``payment_details``
    clears it) and return the settings now in force. Everything is checked before anything is
    written. Customer reminders need a reply-to (the e-mail asks the customer to reply, and
    the From address is the platform's): turning them on without one, or clearing it while
    they are on, is refused."""
    values: dict[str, object] = {}
    if customer_reminders is not None:
        values["customer_reminders"] = bool(customer_reminders)
    if steps is not None:
        values["customer_steps"] = rules.validate_steps(list(steps))
    if reply_to is not None:
        values["reply_to"] = check_reply_to(reply_to) if reply_to.strip() else None
    if payment_details is not None:
        values["payment_details"] = check_payment_details(payment_details)
    now = team_settings(conn, team_id)
    on = values.get("customer_reminders", now.customer_reminders)
    changed = "customer_reminders" in values or "reply_to" in values
    if changed and on and not values.get("reply_to", now.reply_to):
        if now.customer_reminders and "reply_to" in values:
            raise ValueError(
                "customer reminders are on: the reply-to cannot be cleared (turn them off first "
                "with --customer-reminders off, or give another --reply-to)"
            )
        raise ValueError(
            "customer reminders need a reply-to for customers' answers: give --reply-to ADDR"
        )
    default = _defaults(team_id)
    insert_missing(
        conn,
        ReminderSettings,
        [{"team_id": team_id, "customer_reminders": False, "customer_steps": list(default.steps)}],
        key=["team_id"],
    )
    if values:
        conn.execute(
            sa.update(ReminderSettings).where(ReminderSettings.team_id == team_id).values(**values)
        )
    return team_settings(conn, team_id)


def check_locale(text: str) -> str:
    """A locale babel knows (``de_DE``, ``de-DE``, ``fr``), in babel's spelling."""
    from babel import Locale, UnknownLocaleError

    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,2}", text.strip()):
        raise ValueError(f"a locale looks like de_DE or fr, not {text!r}")
    try:
        return str(Locale.parse(text.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"unknown locale {text!r}") from None


def team_id_of(conn: Connection, slug: str) -> int:
    team_id = conn.execute(sa.select(Team.id).where(Team.slug == slug)).scalar()
    if team_id is None:
        raise ValueError(f"unknown team {slug!r}; `bg-agents teams` lists them")
    return int(team_id)


def _customer(conn: Connection, team_id: int, external_id: str) -> sa.Row:
    row = conn.execute(
        sa.select(Customer).where(Customer.team_id == team_id, Customer.external_id == external_id)
    ).one_or_none()
    if row is None:
        raise ValueError(f"the team has no customer {external_id!r}")
    return row


def customer_prefs(conn: Connection, team_id: int, external_id: str) -> CustomerReminderPrefs:
    c = _customer(conn, team_id, external_id)
    return CustomerReminderPrefs(
        c.id, c.external_id, c.name, c.email, bool(c.reminders_opt_in), c.locale
    )


def update_customer(
    conn: Connection,
    team_id: int,
    external_id: str,
    *,
    opt_in: bool | None = None,
    locale: str | None = None,
) -> CustomerReminderPrefs:
    """Opt a customer in or out and set the language of its reminders (``""``: the team's)."""
    values: dict[str, object] = {}
    if locale is not None:
        values["locale"] = check_locale(locale) if locale.strip() else None
    if opt_in is not None:
        values["reminders_opt_in"] = bool(opt_in)
    customer = _customer(conn, team_id, external_id)
    if values:
        conn.execute(sa.update(Customer).where(Customer.id == customer.id).values(**values))
    return customer_prefs(conn, team_id, external_id)
