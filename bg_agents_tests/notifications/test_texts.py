"""Each reader reads a notification in their language: a German team's digest of paid invoices
was titled "2 Rechnungen bezahlt" over English lines with US numbers ("Invoice RE-1 paid:
1,234.00 EUR"). Producers now give message ids and values; the engine writes them out per
reader's locale (the member's own, else the team's), English for a language the texts lack."""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bg_agents.defs.notifications import Event, Words, notify
from bg_agents.defs.notifications.flush import GRACE, flush
from bg_agents.defs.notifications.policy import load_policy
from bg_agents.defs.notifications.texts import CATALOG, LANGUAGES, render
from bg_agents.defs.reminders.team import Planned
from bg_agents.lib.db.models import Notification, NotificationEvent, User, WebhookEndpoint
from bg_agents_tests.notifications.test_engine import T0, _team


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("message", sorted(CATALOG))
def test_every_message_has_every_language_with_the_same_values(message: str) -> None:
    texts = CATALOG[message]
    assert set(texts) == set(LANGUAGES)
    assert len({frozenset(_fields(t)) for t in texts.values()}) == 1, texts


def test_every_digest_noun_has_every_language() -> None:
    for name, category in load_policy().categories.items():
        assert set(category.nouns) == set(LANGUAGES), name


def _paid(team: int, number: str, amount: str) -> Event:
    words = Words("invoice_paid", {"number": number, "amount": Words.money(Decimal(amount), "EUR")})
    return Event(f"paid:{team}:{number}", team, "invoice.paid", words=words, body="evidence")


def _titles(engine, team: int) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Each reader's (in-app or webhook) title and body of the team's one message."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Notification.user_id, Notification.endpoint_id, Notification.title,
                      Notification.body)
            .where(Notification.team_id == team, Notification.channel != "email")
        ).all()  # fmt: skip
    return {(f"user {r.user_id}" if r.user_id else "webhook"): (r.title, r.body) for r in rows}


def test_a_digest_reads_in_each_members_language_with_their_numbers(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn, "berlin", locale="de_DE", users=2)
        last = conn.scalar(sa.select(sa.func.max(User.id)))
        conn.execute(sa.update(User).where(User.id == last).values(locale="fr_FR"))
        conn.execute(
            sa.insert(WebhookEndpoint),
            {"team_id": team, "url": "https://hooks.example.com/x", "secret": "s" * 32},
        )
        notify(conn, [_paid(team, "RE-1", "1234.5"), _paid(team, "RE-2", "99")], T0)
        stored = conn.execute(sa.select(NotificationEvent.title).order_by("id")).scalars().all()
    assert stored == ["Invoice RE-1 paid: 1,234.50 EUR", "Invoice RE-2 paid: 99.00 EUR"]
    flush(engine, T0.replace(minute=10) + GRACE, email=False)
    titles = _titles(engine, team)
    german, french = (f"user {last - 1}", f"user {last}")
    assert titles[german] == (
        "2 Rechnungen bezahlt",
        "2 Rechnungen bezahlt:\n"
        "- Rechnung RE-1 bezahlt: 1.234,50 EUR\n"
        "- Rechnung RE-2 bezahlt: 99,00 EUR",
    )
    assert titles[french][0] == "2 factures payées"
    assert "- Facture RE-1 payée : 1\u202f234,50 EUR" in titles[french][1]
    assert titles["webhook"] == titles[german], "a webhook reads the team's language"


def test_a_single_message_and_its_body_read_in_the_teams_language(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn, "madrid", locale="es_ES", users=1)
        event = Event(
            "import:1", team, "import.finished",
            words=Words("file_imported", {"file": "enero.csv"}),
            body_words=(Words("rows_staged", {"rows": 1250, "quarantined": 3}),
                        Words("balances_off", {"statements": 1})),
        )  # fmt: skip
        notify(conn, [event], T0)
    flush(engine, T0.replace(minute=10) + GRACE, email=False)
    ((title, body),) = _titles(engine, team).values()
    assert title == "enero.csv importado"
    assert body == (
        "filas incorporadas: 1.250, en cuarentena: 3; extractos cuyos saldos no cuadran: 1"
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en_US", "Invoice RE-2026-0012 (Acme GmbH): 1,234.00 EUR, 7 days overdue"),
        ("de_DE", "Rechnung RE-2026-0012 (Acme GmbH): 1.234,00 EUR, 7 Tage überfällig"),
        ("fr_FR", "Facture RE-2026-0012 (Acme GmbH) : 1\u202f234,00 EUR, en retard de 7 jours"),
        ("es_ES", "Factura RE-2026-0012 (Acme GmbH): 1.234,00 EUR, 7 días de retraso"),
        # No texts in Japanese: English words, the locale's own numbers.
        ("ja_JP", "Invoice RE-2026-0012 (Acme GmbH): 1,234.00 EUR, 7 days overdue"),
        ("xx-bogus", "Invoice RE-2026-0012 (Acme GmbH): 1,234.00 EUR, 7 days overdue"),
    ],
)
def test_a_reminder_reads_in_the_readers_language(locale: str, expected: str) -> None:
    day = date(2026, 3, 9)
    planned = Planned(
        key="k", team_id=1, invoice_id=1, number="RE-2026-0012", customer="Acme GmbH",
        kind="overdue", amount_due=Decimal("1234.0000"), currency="EUR",
        due_date=day - timedelta(days=7), local_date=day, slot="s",
        due_at=datetime(2026, 3, 9, 8),
    )  # fmt: skip
    assert render(planned.words().as_json(), locale) == expected


def test_amounts_keep_the_currencys_decimals_and_the_locales_grouping() -> None:
    def amount(value: str, currency: str, locale: str) -> str:
        words = Words(
            "invoice_paid", {"number": "1", "amount": Words.money(Decimal(value), currency)}
        )
        return render(words.as_json(), locale).split(": ", 1)[1]

    assert amount("1234567.5", "INR", "en_IN") == "12,34,567.50 INR"  # lakhs
    assert amount("499400", "JPY", "de_DE") == "499.400 JPY"
    assert amount("1.234", "KWD", "de_DE") == "1,234 KWD"
    assert amount("-20.5", "EUR", "de_DE") == "-20,50 EUR"


def test_an_unknown_message_id_is_refused_when_the_event_is_made() -> None:
    with pytest.raises(ValueError, match="no message 'invoice_payed'"):
        Words("invoice_payed")


def test_a_long_title_is_cut_as_stored_and_words_the_texts_lost_read_as_stored(engine) -> None:  # type: ignore[no-untyped-def]
    """A title longer in German than in English went into the 200-character column uncut
    (PostgreSQL refused it, and with it the producer's transaction); an event stored with a
    message id since renamed failed every flush."""
    customer = "K" * 190
    with engine.begin() as conn:
        team = _team(conn, "lang", locale="de_DE", users=1)
        long = Words("reminder", {"number": "RE-1", "customer": f" ({customer})",
                                  "amount": Words.money(Decimal(5), "EUR"),
                                  "when": Words("overdue", {"days": 30})})  # fmt: skip
        notify(conn, [Event("long", team, "document.matched", words=long)], T0)
        gone = Event("gone", team, "invoice.paid", words=Words("invoice_paid_plain"))
        notify(conn, [gone], T0)  # waits for its window
        conn.execute(
            sa.update(NotificationEvent)
            .where(NotificationEvent.idempotency_key == "gone")
            .values(words={"title": {"id": "renamed_since", "values": {}}, "body": []})
        )
    flush(engine, T0.replace(minute=10) + GRACE, email=False)
    with engine.connect() as conn:
        titles = conn.execute(
            sa.select(Notification.title).where(Notification.team_id == team).order_by("id")
        ).scalars().all()  # fmt: skip
    assert titles[0].startswith("Rechnung RE-1 (KKK") and len(titles[0]) == 200
    assert titles[1:] == ["Invoice paid"]  # the stored English


def test_a_hyphenated_locale_reads_one_language_throughout(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn, "wien", locale="de-AT", users=1)
        notify(conn, [_paid(team, "RE-1", "10"), _paid(team, "RE-2", "20")], T0)
    flush(engine, T0.replace(minute=10) + GRACE, email=False)
    ((title, body),) = _titles(engine, team).values()
    assert title == "2 Rechnungen bezahlt"
    assert body.startswith("2 Rechnungen bezahlt:\n- Rechnung RE-1 bezahlt: 10,00 EUR")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"number": "RE-1"}, r"takes \['amount', 'number'\], not \['number'\]"),
        ({"number": "RE-1", "amount": Decimal("1.5")}, "amount = Decimal"),
        ({"number": "RE-1", "amount": 1.5}, "amount = 1.5 is not"),
        ({"number": True, "amount": 1}, "number = True is not"),
    ],
)
def test_words_that_could_not_be_written_out_are_refused_when_made(
    values: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Words("invoice_paid", values)


def test_an_event_without_a_title_or_words_is_refused() -> None:
    with pytest.raises(ValueError, match="neither a title nor words"):
        Event("k", 1, "invoice.paid")
