"""Customer payment reminders, e-mailed to a real SMTP server (aiosmtpd) the tests start on
127.0.0.1 and parsed back, on SQLite and PostgreSQL.

What a team and its customers rely on: the e-mail is in the customer's language with the amount
and due date formatted for it, the team's payment details and Reply-To; only opted-in customers of
teams that turned reminders on hear anything; one e-mail per invoice and step however often the
queue and the sender run; an invoice paid after the decision is not dunned (and the skip is
recorded); a partial payment changes the amount; a 4xx reply is retried later, a 5xx is dead.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from babel.dates import format_date
from babel.numbers import format_currency
from sqlalchemy.engine import Engine

from bg_agents.defs.notifications import LEASE, SmtpConfig, SmtpSender
from bg_agents.defs.reminders import customers, rules
from bg_agents.defs.reminders.customer_email import CustomerReminderMail, render_customer_reminder
from bg_agents.defs.reminders.customers import (
    plan_customer,
    queue_customer_reminders,
    retries_due,
    send_customer_reminders,
)
from bg_agents.defs.reminders.run import run_slot
from bg_agents.defs.reminders.settings import update_team_settings
from bg_agents.lib.db.models import Customer, Invoice, Reminder, Team
from bg_agents.lib.delivery_slots import day_due_at, day_slot
from bg_agents_tests.notifications.test_email_channel import Recorder, smtp_server

DAY = date(2026, 3, 20)  # a Friday; Berlin is at UTC+01:00 (DST starts on the 29th)
SLOT = day_slot(DAY, rules.REMINDER_TIME, "Europe/Berlin")
DUE_AT = day_due_at(DAY, rules.REMINDER_TIME, SLOT)
NOW = DUE_AT - timedelta(hours=1)  # when the day's unit queues (before 09:00 it may not send)
DETAILS = "IBAN DE89 3704 0044 0532 0130 00\nBIC COBADEFFXXX <b>ref</b>"
SENDER = "bg-agents <noreply@bg.test>"
WINDOW = timedelta(hours=24)


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, SmtpConfig]]:
    recorder = Recorder(
        rcpt={
            "later@kunde.test": "451 4.2.0 mailbox busy, try later",
            "gone@kunde.test": "550 5.1.1 no such mailbox",
        }
    )
    with smtp_server(recorder) as port:
        yield recorder, SmtpConfig(host="127.0.0.1", port=port, security="plain", sender=SENDER)


def _team(conn, slug: str, zone: str = "Europe/Berlin", locale: str = "de_DE") -> int:  # type: ignore[no-untyped-def]
    return conn.execute(
        sa.insert(Team).returning(Team.id),
        {"slug": slug, "name": f"{slug.title()} GmbH", "time_zone": zone, "base_currency": "EUR",
         "locale": locale},
    ).scalar_one()  # fmt: skip


def _customer(conn, team: int, ext: str, mail: str | None, *, opt_in: bool = True,  # type: ignore[no-untyped-def]
              locale: str | None = None) -> int:  # fmt: skip
    return conn.execute(
        sa.insert(Customer).returning(Customer.id),
        {"team_id": team, "external_id": ext, "name": f"Kunde {ext}", "email": mail,
         "reminders_opt_in": opt_in, "locale": locale},
    ).scalar_one()  # fmt: skip


def _invoice(conn, team: int, customer: int, number: str, due: date,  # type: ignore[no-untyped-def]
             amount: str = "1234.50") -> int:  # fmt: skip
    return conn.execute(
        sa.insert(Invoice).returning(Invoice.id),
        {"team_id": team, "customer_id": customer, "number": number, "amount": Decimal(amount),
         "currency": "EUR", "issue_date": due - timedelta(days=30), "due_date": due},
    ).scalar_one()  # fmt: skip


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    """Acme (Berlin, reminders on, steps -3/1/7/14) with customers in German, French, opted out,
    without an address and behind failing mailboxes; Globex (reminders off) with an opted-in
    customer; every invoice due a step on DAY."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        acme = ids["acme"] = _team(conn, "acme")
        update_team_settings(conn, acme, customer_reminders=True, steps=[-3, 1, 7, 14],
                             reply_to="buchhaltung@acme.test", payment_details=DETAILS)  # fmt: skip
        de = _customer(conn, acme, "C-DE", "anna@kunde.test", locale="de_DE")
        fr = _customer(conn, acme, "C-FR", "luc@client.test", locale="fr_FR")
        out = _customer(conn, acme, "C-OUT", "out@kunde.test", opt_in=False)
        none = _customer(conn, acme, "C-NONE", None)
        later = _customer(conn, acme, "C-451", "later@kunde.test")
        gone = _customer(conn, acme, "C-550", "gone@kunde.test")
        ids["de7"] = _invoice(conn, acme, de, "RE-7", DAY - timedelta(days=7))
        ids["de_before"] = _invoice(conn, acme, de, "RE-B", DAY + timedelta(days=3), "99.00")
        ids["fr14"] = _invoice(conn, acme, fr, "FA-14", DAY - timedelta(days=14), "2000.00")
        ids["out"] = _invoice(conn, acme, out, "RE-OUT", DAY - timedelta(days=1))
        ids["none"] = _invoice(conn, acme, none, "RE-NONE", DAY - timedelta(days=1))
        ids["later"] = _invoice(conn, acme, later, "RE-451", DAY - timedelta(days=1))
        ids["gone"] = _invoice(conn, acme, gone, "RE-550", DAY - timedelta(days=1))
        ids["off_step"] = _invoice(conn, acme, de, "RE-2", DAY - timedelta(days=2))  # no step
        globex = ids["globex"] = _team(conn, "globex")
        g = _customer(conn, globex, "G-1", "g@kunde.test")
        ids["globex_inv"] = _invoice(conn, globex, g, "G-7", DAY - timedelta(days=7))
    return ids


def _queue(engine: Engine, world: dict[str, int], decision: str = "deliver") -> Any:
    with engine.begin() as conn:
        return queue_customer_reminders(
            conn, DAY, SLOT, [world["acme"], world["globex"]], NOW, decision=decision
        )


def _rows(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.key: r for r in conn.execute(sa.select(Reminder)).all()}


def _mails(recorder: Recorder, to: str) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(r["raw"], policy=email.policy.default)
        for r in recorder.received
        if r["to"] == [to]
    ]


def _mail(recorder: Recorder, to: str, number: str) -> email.message.EmailMessage:
    """The one e-mail to ``to`` about invoice ``number``."""
    found = [m for m in _mails(recorder, to) if number in m["Subject"]]
    assert len(found) == 1, f"{len(found)} e-mails to {to} about {number}"
    return found[0]


def _text(msg: email.message.EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(preferencelist=("plain",))
    page = msg.get_body(preferencelist=("html",))
    assert plain is not None and page is not None
    return plain.get_content().replace("\r\n", "\n"), page.get_content()


def test_customers_get_the_reminder_in_their_language_with_reply_to_and_details(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    assert _queue(engine, world).queued == 5  # RE-7, RE-B, FA-14, RE-451, RE-550
    assert send_customer_reminders(engine, DUE_AT - timedelta(minutes=1), smtp=config).sent == 0
    result = send_customer_reminders(engine, DUE_AT, smtp=config)
    assert (result.sent, result.retried, result.dead) == (3, 1, 1)

    de = _mail(recorder, "anna@kunde.test", "RE-7")
    assert de["Subject"] == "Zahlungserinnerung: Rechnung RE-7"
    plain, page = _text(de)
    assert "1.234,50\xa0€" in plain  # babel's de_DE currency format
    assert "13. März 2026" in plain  # the due date, long German format
    assert "Guten Tag Kunde C-DE," in plain
    assert "IBAN DE89 3704 0044 0532 0130 00\nBIC COBADEFFXXX <b>ref</b>" in plain
    assert "&lt;b&gt;ref&lt;/b&gt;" in page and "<b>ref</b>" not in page
    assert "Acme GmbH versendet diese Zahlungserinnerung mit bg-agents" in plain
    assert de["Reply-To"] == "buchhaltung@acme.test"
    assert de["From"].addresses[0].display_name == "Acme GmbH"
    assert de["From"].addresses[0].addr_spec == "noreply@bg.test"
    assert de["Content-Language"] == "de-DE"
    assert de["List-Unsubscribe"] is None  # customers are not users: no preferences to go to
    assert de["Message-ID"].endswith("@bg.test>")

    fr = _mail(recorder, "luc@client.test", "FA-14")
    assert fr["Subject"] == "En retard : facture FA-14, échue depuis 14 jours"
    plain, _ = _text(fr)
    assert format_currency(Decimal(2000), "EUR", locale="fr_FR") in plain
    assert format_date(DAY - timedelta(days=14), format="long", locale="fr_FR") in plain
    assert "Coordonnées de paiement" in plain


def test_tone_escalates_by_step_and_follows_the_team_locale() -> None:
    def subject(step: int, locales: tuple[str | None, ...] = ("en_US",)) -> str:
        mail = CustomerReminderMail(
            key=f"k{step}", to_address="a@b.test", customer_name="Ann", team_name="Acme",
            invoice_number="INV-1", amount_due=Decimal("10"), amount_total=Decimal("10"),
            currency="USD", due_date=date(2026, 3, 1), step=step, locales=locales,
        )  # fmt: skip
        return str(render_customer_reminder(mail, SENDER)["Subject"])

    assert subject(-3) == "Upcoming payment: invoice INV-1 is due on March 1, 2026"
    assert subject(1) == "Payment reminder: invoice INV-1"
    assert subject(14) == "Overdue: invoice INV-1, 14 days past due"
    # No customer locale: the team's; an unsupported one (Italian): the next, else English.
    assert subject(1, (None, "es_ES")) == "Recordatorio de pago: factura INV-1"
    assert subject(1, ("it_IT", "de_AT")) == "Zahlungserinnerung: Rechnung INV-1"
    assert subject(1, ("it_IT", None)) == "Payment reminder: invoice INV-1"


def test_names_with_line_breaks_cannot_add_headers() -> None:
    mail = CustomerReminderMail(
        key="k", to_address="a@b.test", customer_name="Ann\r\nBcc: evil@x.test",
        team_name="Acme\r\nBcc: evil@x.test", invoice_number="1\nBcc: evil@x.test",
        amount_due=Decimal("10"), amount_total=Decimal("10"), currency="EUR",
        due_date=date(2026, 3, 1), step=7, locales=("en",), reply_to="r@acme.test",
    )  # fmt: skip
    raw = render_customer_reminder(mail, SENDER).as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert parsed["From"].addresses[0].addr_spec == "noreply@bg.test"
    assert parsed["From"].addresses[0].display_name == "Acme Bcc: evil@x.test"
    assert parsed["Subject"] == "Payment reminder: invoice 1 Bcc: evil@x.test"
    with pytest.raises(ValueError, match="not one e-mail address"):
        render_customer_reminder(
            CustomerReminderMail(**{**mail.__dict__, "to_address": "a@b.test\nBcc: e@x.test"}),
            SENDER,
        )


def test_opted_out_customers_and_teams_with_reminders_off_get_nothing(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    _queue(engine, world)
    send_customer_reminders(engine, DUE_AT, smtp=config)
    to = {a for m in recorder.received for a in m["to"]}
    assert to == {"anna@kunde.test", "luc@client.test"}
    stored = {r.invoice_id for r in _rows(engine).values()}
    assert not stored & {world["out"], world["none"], world["globex_inv"], world["off_step"]}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_opting_out_after_the_decision_stops_the_email(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    _queue(engine, world)
    with engine.begin() as conn:
        conn.execute(
            sa.update(Customer).where(Customer.external_id == "C-FR").values(reminders_opt_in=False)
        )
    result = send_customer_reminders(engine, DUE_AT, smtp=config)
    assert result.skipped_opt_out == 1
    assert "luc@client.test" not in {a for m in recorder.received for a in m["to"]}
    assert _rows(engine)[rules.customer_key(world["fr14"], 14)].status == "skipped_opt_out"


def test_never_twice_for_one_invoice_and_step(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    first = _queue(engine, world)
    again = _queue(engine, world)
    assert (first.queued, again.queued) == (5, 0)
    send_customer_reminders(engine, DUE_AT, smtp=config)
    send_customer_reminders(engine, DUE_AT + timedelta(hours=3), smtp=config)
    _queue(engine, world)  # a late re-run of the day's unit after sending
    send_customer_reminders(engine, DUE_AT + timedelta(hours=4), smtp=config)
    # anna has two invoices with a step today (RE-7 and RE-B): one e-mail each, no more.
    subjects = sorted(m["Subject"] for m in _mails(recorder, "anna@kunde.test"))
    assert subjects == [
        "Zahlungserinnerung: Rechnung RE-7",
        "Zahlungshinweis: Rechnung RE-B ist am 23. März 2026 fällig",
    ]
    assert len([m for m in recorder.received if m["to"] == ["luc@client.test"]]) == 1


def test_paid_between_decision_and_send_is_not_sent_and_recorded(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    _queue(engine, world)
    with engine.begin() as conn:  # reconciliation links the payment at 08:30
        conn.execute(
            sa.update(Invoice)
            .where(Invoice.id == world["fr14"])
            .values(status="paid", amount_paid=Decimal("2000.00"), paid_date=DAY)
        )
    result = send_customer_reminders(engine, DUE_AT, smtp=config)
    assert result.skipped_paid == 1
    assert "luc@client.test" not in {a for m in recorder.received for a in m["to"]}
    row = _rows(engine)[rules.customer_key(world["fr14"], 14)]
    assert (row.status, row.sent_at, row.attempts) == ("skipped_paid", None, 0)


def test_a_partial_payment_changes_the_amount_in_the_text(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    _queue(engine, world)
    with engine.begin() as conn:
        conn.execute(
            sa.update(Invoice)
            .where(Invoice.id == world["de7"])
            .values(status="partially_paid", amount_paid=Decimal("1000.00"))
        )
    send_customer_reminders(engine, DUE_AT, smtp=config)
    plain, _ = _text(_mail(recorder, "anna@kunde.test", "RE-7"))
    assert "offenen Betrag von 234,50\xa0€" in plain
    assert "Von der Rechnungssumme 1.234,50\xa0€ sind noch 234,50\xa0€ offen." in plain
    assert _rows(engine)[rules.customer_key(world["de7"], 7)].amount_due == Decimal("234.50")


def test_a_4xx_reply_is_retried_later_and_a_5xx_is_dead(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    _queue(engine, world)
    send_customer_reminders(engine, DUE_AT, smtp=config)
    rows = _rows(engine)
    later = rows[rules.customer_key(world["later"], 1)]
    gone = rows[rules.customer_key(world["gone"], 1)]
    assert later.status == "failed" and "451" in later.last_error
    assert DUE_AT + timedelta(seconds=15) <= later.next_attempt_at <= DUE_AT + timedelta(minutes=1)
    assert gone.status == "dead" and "550" in gone.last_error and gone.next_attempt_at is None
    with engine.connect() as conn:
        assert retries_due(conn, DUE_AT) == 0
        assert retries_due(conn, later.next_attempt_at) == 1
    recorder.rcpt.pop("later@kunde.test")  # the mailbox has room again
    again = send_customer_reminders(engine, later.next_attempt_at, smtp=config)
    assert (again.sent, again.dead) == (1, 0)
    assert len([m for m in recorder.received if m["to"] == ["later@kunde.test"]]) == 1
    assert _rows(engine)[later.key].attempts == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_a_late_unit_records_skipped_late_and_sends_nothing(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    assert _queue(engine, world, decision="skip").skipped_late == 5
    assert _queue(engine, world).queued == 0  # decided once: a later run does not revive it
    assert send_customer_reminders(engine, DUE_AT + timedelta(days=2), smtp=config).sent == 0
    assert recorder.received == []


def test_a_paid_invoice_being_reminded_records_the_step_it_skips(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    _, config = smtp
    _queue(engine, world)
    send_customer_reminders(engine, DUE_AT, smtp=config)
    later = DAY + timedelta(days=7)
    with engine.begin() as conn:
        paid = {"status": "paid", "amount_paid": Decimal("1234.50")}
        conn.execute(sa.update(Invoice).where(Invoice.id == world["de7"]).values(**paid))
        # Paid on time, never reminded: its step 7 on the later day leaves no trace.
        customer = conn.execute(sa.select(Invoice.customer_id).where(Invoice.id == world["de7"]))
        on_time = _invoice(conn, world["acme"], customer.scalar_one(), "RE-OK", DAY)
        conn.execute(sa.update(Invoice).where(Invoice.id == on_time).values(**paid))
        slot = day_slot(later, rules.REMINDER_TIME, "Europe/Berlin")
        result = queue_customer_reminders(
            conn, later, slot, [world["acme"]], NOW + timedelta(days=7), decision="deliver"
        )
    # RE-7 reaches step 14 paid: recorded skipped_paid; nothing else has a step that day.
    assert (result.queued, result.skipped_paid) == (0, 1)
    rows = _rows(engine)
    assert rows[rules.customer_key(world["de7"], 14)].status == "skipped_paid"
    assert rules.customer_key(on_time, 7) not in rows


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_without_smtp_configured_rows_wait(
    engine: Engine, world: dict[str, int], app_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BG_AGENTS_SMTP_URL", raising=False)
    monkeypatch.delenv("BG_AGENTS_SMTP_FROM", raising=False)
    _queue(engine, world)
    assert send_customer_reminders(engine, DUE_AT).sent == 0
    assert {r.status for r in _rows(engine).values()} == {"pending"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_only_teams_of_the_slot_are_queued(engine: Engine, world: dict[str, int]) -> None:
    with engine.begin() as conn:
        result = queue_customer_reminders(conn, DAY, "UTC+00:00", [world["acme"]], NOW,
                                          decision="deliver")  # fmt: skip
    assert result.queued == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_preview_lists_the_day_in_local_and_utc_time(engine: Engine, world: dict[str, int]) -> None:
    with engine.connect() as conn:
        planned = plan_customer(conn, DAY, world["acme"])
    assert sorted((p.invoice_number, p.kind, p.status) for p in planned) == [
        ("FA-14", "after_14", "planned"),
        ("RE-451", "after_1", "planned"),
        ("RE-550", "after_1", "planned"),
        ("RE-7", "after_7", "planned"),
        ("RE-B", "before_3", "planned"),
    ]
    assert {p.due_at for p in planned} == {datetime(2026, 3, 20, 8, 0, tzinfo=UTC)}
    assert {p.due_local.strftime("%H:%M %Z") for p in planned} == {"09:00 CET"}
    _queue(engine, world)
    with engine.connect() as conn:
        assert {p.status for p in plan_customer(conn, DAY, world["acme"])} == {"pending"}
        assert plan_customer(conn, DAY, world["globex"]) == []
        assert _rows(engine) and plan_customer(conn, DAY, world["globex"]) == []


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_racing_runs_queue_and_send_each_reminder_once(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    barrier = threading.Barrier(2)
    queued: list[int] = []

    def run() -> None:
        barrier.wait()
        queued.append(_queue(engine, world).queued)
        for _ in range(3):
            send_customer_reminders(engine, DUE_AT, smtp=config, limit=2)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(queued) == 5  # each (invoice, step) stored by one of them
    keys = [email.message_from_bytes(m["raw"])["Message-ID"] for m in recorder.received]
    assert len(keys) == len(set(keys)) == 3


def test_an_email_past_the_catch_up_window_is_skipped_late_not_sent(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    """Queued while e-mail was off; SMTP configured two days later: yesterday's dunning is not
    sent out of context, and the skip is recorded."""
    recorder, config = smtp
    assert _queue(engine, world).queued == 5
    result = send_customer_reminders(engine, DUE_AT + timedelta(days=2), window=WINDOW, smtp=config)
    assert (result.sent, result.skipped_late) == (0, 5)
    assert recorder.received == []
    assert {r.status for r in _rows(engine).values()} == {"skipped_late"}
    with engine.connect() as conn:
        assert retries_due(conn, DUE_AT + timedelta(days=3)) == 0


def test_days_overdue_are_counted_to_the_day_the_email_goes_out(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    """Step 14 caught up at 05:00 Berlin the next day (inside the window) says 15 days."""
    recorder, config = smtp
    _queue(engine, world)
    send_customer_reminders(engine, DUE_AT + timedelta(hours=20), window=WINDOW, smtp=config)
    fr = _mail(recorder, "luc@client.test", "FA-14")
    assert fr["Subject"] == "En retard : facture FA-14, échue depuis 15 jours"
    assert "est en retard de 15 jours" in _text(fr)[0]


class _SlowSender(SmtpSender):
    """Calls ``after_first`` once its first e-mail has gone out (a slow server, in effect)."""

    after_first: Any = None

    def send(self, msg: Any) -> Any:
        refused = super().send(msg)
        hook, type(self).after_first = type(self).after_first, None
        if hook is not None:
            hook()
        return refused


def test_a_pass_claims_one_chunk_at_a_time(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _, config = smtp
    _queue(engine, world)
    claimed: list[int] = []

    def count() -> None:
        with engine.connect() as conn:
            claimed.append(
                conn.scalar(sa.select(sa.func.count()).where(Reminder.status == "sending"))
            )

    monkeypatch.setattr(customers, "CHUNK", 2)
    monkeypatch.setattr(customers, "SmtpSender", _SlowSender)
    monkeypatch.setattr(_SlowSender, "after_first", count)
    assert send_customer_reminders(engine, DUE_AT, window=WINDOW, smtp=config).sent == 3
    assert claimed == [2]  # only the first chunk was under lease while its e-mail went out


def test_a_claim_taken_over_after_the_lease_ran_out_is_neither_sent_nor_recorded_over(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The first e-mail of a chunk takes longer than the lease; meanwhile another sender claims
    the chunk. The slow sender sends nothing more and records nothing over the other's claim."""
    recorder, config = smtp
    _queue(engine, world)
    stopwatch = [0.0]
    taken_at = DUE_AT + LEASE + timedelta(seconds=1)
    taken: list[Any] = []

    def take_over() -> None:
        stopwatch[0] += (LEASE + timedelta(seconds=1)).total_seconds()
        taken.extend(customers._claim(engine, taken_at, 50))  # the other sender, then it dies

    monkeypatch.setattr(customers, "_monotonic", lambda: stopwatch[0])
    monkeypatch.setattr(customers, "SmtpSender", _SlowSender)
    monkeypatch.setattr(_SlowSender, "after_first", take_over)
    slow = send_customer_reminders(engine, DUE_AT, window=WINDOW, smtp=config)
    assert (slow.sent, len(recorder.received), len(taken)) == (1, 1, 5)
    assert {(r.status, r.attempts) for r in _rows(engine).values()} == {("sending", 2)}
    # The other sender died too: its lease runs out and a third pass sends the rest once each.
    third = send_customer_reminders(engine, taken_at + LEASE, window=WINDOW, smtp=config)
    assert (third.sent, third.retried, third.dead) == (3, 1, 1)
    ids = [email.message_from_bytes(m["raw"])["Message-ID"] for m in recorder.received]
    # Only the e-mail in flight when the lease ran out went twice, with one Message-ID.
    assert len(ids) == 4 and len(set(ids)) == 3 and ids[0] == ids[1]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_a_run_for_one_team_does_not_email_another_teams_customers(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    recorder, config = smtp
    with engine.begin() as conn:
        update_team_settings(conn, world["globex"], customer_reminders=True, steps=[7],
                             reply_to="ar@globex.test")  # fmt: skip
        # Globex's unit queued its e-mail (and will send it); then Acme's unit runs.
        queue_customer_reminders(conn, DAY, SLOT, [world["globex"]], NOW, decision="deliver")
    result = run_slot(engine, DAY, SLOT, DUE_AT, WINDOW, team_ids=[world["acme"]], smtp=config)
    assert result.customers_emailed == 3
    assert "g@kunde.test" not in {a for m in recorder.received for a in m["to"]}
    assert _rows(engine)[rules.customer_key(world["globex_inv"], 7)].status == "pending"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_preview_keeps_emails_already_sent_when_the_invoice_no_longer_qualifies(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig]
) -> None:
    _, config = smtp
    with engine.begin() as conn:  # only FA-14 is stored (sent); the others stay planned
        fr = conn.execute(sa.select(Invoice.customer_id).where(Invoice.id == world["fr14"]))
        fr_customer = fr.scalar_one()
        others = sa.and_(Customer.id != fr_customer, Customer.reminders_opt_in.is_(True))
        opted_in = list(conn.execute(sa.select(Customer.id).where(others)).scalars())
        pause = sa.update(Customer).where(Customer.id.in_(opted_in))
        conn.execute(pause.values(reminders_opt_in=False))
        queue_customer_reminders(conn, DAY, SLOT, [world["acme"]], NOW, decision="deliver")
        conn.execute(pause.values(reminders_opt_in=True))
    send_customer_reminders(engine, DUE_AT, window=WINDOW, smtp=config)
    with engine.begin() as conn:  # the customer opts out after its e-mail went out
        conn.execute(
            sa.update(Customer).where(Customer.id == fr_customer).values(reminders_opt_in=False)
        )
        planned = plan_customer(conn, DAY, world["acme"])
    assert [(p.invoice_number, p.status) for p in planned][0] == ("FA-14", "sent")
    assert sorted((p.invoice_number, p.status) for p in planned[1:]) == [
        ("RE-451", "planned"), ("RE-550", "planned"), ("RE-7", "planned"), ("RE-B", "planned"),
    ]  # fmt: skip
    assert planned[0].to_address == "luc@client.test"
    assert planned[0].due_local.strftime("%H:%M %Z") == "09:00 CET"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # no dialect-specific path
def test_a_long_list_of_teams_is_claimed_in_groups(
    engine: Engine, world: dict[str, int], smtp: tuple[Recorder, SmtpConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    recorder, config = smtp
    _queue(engine, world)
    monkeypatch.setattr(customers, "TEAM_GROUP", 2)  # Acme's rows only in the second group
    teams = [world["globex"], 10**6, world["acme"]]
    assert (
        send_customer_reminders(engine, DUE_AT, window=WINDOW, team_ids=teams, smtp=config).sent
        == 3
    )
    assert len(recorder.received) == 3
