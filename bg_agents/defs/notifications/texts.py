"""What a team reads in a notification, in its language: titles and short bodies by message id.

A producer does not know who will read an event (each member may have a locale of their own),
so it gives :class:`Words`, a message id and its values, instead of finished text; the engine
writes them out per reader's locale when it builds the message (``flush._content``). The English
text is also stored on the event, for logs and for a message id this catalog does not know.

Languages: English, German, French, Spanish (those of the digests' nouns and the e-mails'
footer); any other locale reads English, with its own numbers, dates and currency formats.
Amounts are written with the ISO code after them ("1.234,00 EUR"), as the reminders and
reports do.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bg_agents.lib.locales import resolve_locale

LANGUAGES = ("en", "de", "fr", "es")
BODY_JOIN = "; "  # between the sentences of a body

CATALOG: dict[str, dict[str, str]] = {
    "invoice_paid": {
        "en": "Invoice {number} paid: {amount}",
        "de": "Rechnung {number} bezahlt: {amount}",
        "fr": "Facture {number} payée : {amount}",
        "es": "Factura {number} pagada: {amount}",
    },
    "invoice_paid_plain": {
        "en": "Invoice paid",
        "de": "Rechnung bezahlt",
        "fr": "Facture payée",
        "es": "Factura pagada",
    },
    "receipt_matched_plain": {
        "en": "Receipt matched",
        "de": "Beleg zugeordnet",
        "fr": "Justificatif rapproché",
        "es": "Recibo conciliado",
    },
    "receipt_matched": {
        "en": "Receipt matched: {name} {amount}",
        "de": "Beleg zugeordnet: {name} {amount}",
        "fr": "Justificatif rapproché : {name} {amount}",
        "es": "Recibo conciliado: {name} {amount}",
    },
    "reminder": {
        "en": "Invoice {number}{customer}: {amount}, {when}",
        "de": "Rechnung {number}{customer}: {amount}, {when}",
        "fr": "Facture {number}{customer} : {amount}, {when}",
        "es": "Factura {number}{customer}: {amount}, {when}",
    },
    "due_in": {
        "en": "due in {days} days",
        "de": "fällig in {days} Tagen",
        "fr": "échéance dans {days} jours",
        "es": "vence en {days} días",
    },
    "due_tomorrow": {
        "en": "due tomorrow",
        "de": "morgen fällig",
        "fr": "échéance demain",
        "es": "vence mañana",
    },
    "due_today": {
        "en": "due today",
        "de": "heute fällig",
        "fr": "échéance aujourd'hui",
        "es": "vence hoy",
    },
    "overdue_one": {
        "en": "{days} day overdue",
        "de": "{days} Tag überfällig",
        "fr": "en retard de {days} jour",
        "es": "{days} día de retraso",
    },
    "overdue": {
        "en": "{days} days overdue",
        "de": "{days} Tage überfällig",
        "fr": "en retard de {days} jours",
        "es": "{days} días de retraso",
    },
    "recurring_upcoming": {
        "en": "Recurring invoice for {customer} ({amount}) will be issued tomorrow, {date}",
        "de": "Serienrechnung für {customer} ({amount}) wird morgen ausgestellt, {date}",
        "fr": "Facture récurrente pour {customer} ({amount}) émise demain, {date}",
        "es": "Factura recurrente para {customer} ({amount}) se emite mañana, {date}",
    },
    "recurring_upcoming_number": {
        "en": "Recurring invoice {number} ({amount}) will be issued tomorrow, {date}",
        "de": "Serienrechnung {number} ({amount}) wird morgen ausgestellt, {date}",
        "fr": "Facture récurrente {number} ({amount}) émise demain, {date}",
        "es": "Factura recurrente {number} ({amount}) se emite mañana, {date}",
    },
    "recurring_body": {
        "en": "Invoice {number}, due {due}, from the {every} series of {series}.",
        "de": "Rechnung {number}, fällig am {due}, aus der {every} Serie von {series}.",
        "fr": "Facture {number}, échéance le {due}, de la série {every} de {series}.",
        "es": "Factura {number}, vence el {due}, de la serie {every} de {series}.",
    },
    # A series' recurrence, as the word before "series" (German: after "der").
    "every_monthly": {"en": "monthly", "de": "monatlichen", "fr": "mensuelle", "es": "mensual"},
    "every_quarterly": {
        "en": "quarterly",
        "de": "vierteljährlichen",
        "fr": "trimestrielle",
        "es": "trimestral",
    },
    "every_yearly": {"en": "yearly", "de": "jährlichen", "fr": "annuelle", "es": "anual"},
    "reminder_body": {
        "en": "Due {due}; reminder of {day} 09:00.",
        "de": "Fällig am {due}; Erinnerung vom {day}, 09:00 Uhr.",
        "fr": "Échéance le {due} ; rappel du {day} à 09:00.",
        "es": "Vence el {due}; recordatorio del {day} a las 09:00.",
    },
    "file_imported": {
        "en": "{file} imported",
        "de": "{file} importiert",
        "fr": "{file} importé",
        "es": "{file} importado",
    },
    # Counts after a colon: no singular and plural to choose between.
    "rows_staged": {
        "en": "rows staged: {rows}, quarantined: {quarantined}",
        "de": "Buchungen übernommen: {rows}, zurückgestellt: {quarantined}",
        "fr": "lignes reprises : {rows}, mises en quarantaine : {quarantined}",
        "es": "filas incorporadas: {rows}, en cuarentena: {quarantined}",
    },
    "balances_off": {
        "en": "statements whose balances do not add up: {statements}",
        "de": "Auszüge, deren Salden nicht stimmen: {statements}",
        "fr": "relevés dont les soldes ne concordent pas : {statements}",
        "es": "extractos cuyos saldos no cuadran: {statements}",
    },
    # A digest's text opens with its title; "Sie haben 2 Rechnungen bezahlt" said the reader paid.
    "digest_heading": {"en": "{what}:", "de": "{what}:", "fr": "{what} :", "es": "{what}:"},
    "digest_more": {
        "en": "and {n} more",
        "de": "und {n} weitere",
        "fr": "et {n} de plus",
        "es": "y {n} más",
    },
    "weekly_insights": {
        "en": "Your weekly insights for the week of {week}",
        "de": "Ihr Wochenbericht für die Woche vom {week}",
        "fr": "Votre synthèse de la semaine du {week}",
        "es": "Su resumen de la semana del {week}",
    },
}


@dataclass(frozen=True)
class Words:
    """A message id and its values: text (as given), whole numbers, amounts
    (:meth:`money`), days (:meth:`day`), or other :class:`Words` (a part of the sentence)."""

    id: str
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse here, where the producer sees it, what could not be written out later: an
        unknown id, a value missing or extra, a value of a kind :func:`render` cannot store."""
        if self.id not in CATALOG:
            raise ValueError(f"no message {self.id!r} in the notification texts")
        wanted = _fields(CATALOG[self.id]["en"])
        if set(self.values) != wanted:
            raise ValueError(
                f"message {self.id!r} takes {sorted(wanted)}, not {sorted(self.values)}"
            )
        for name, value in self.values.items():
            if not _storable(value):
                raise ValueError(f"message {self.id!r}: {name} = {value!r} is not text, a whole "
                                 "number, Words.money, Words.day or Words")  # fmt: skip

    @staticmethod
    def money(amount: Decimal, currency: str) -> dict[str, str]:
        return {"amount": format(amount, "f"), "currency": currency}

    @staticmethod
    def day(value: date) -> dict[str, str]:
        return {"date": value.isoformat()}

    def as_json(self) -> dict[str, Any]:
        """What the event stores (JSON), read back by :func:`render`."""
        return {
            "id": self.id,
            "values": {
                k: v.as_json() if isinstance(v, Words) else v for k, v in self.values.items()
            },
        }

    def english(self) -> str:
        return render(self.as_json(), "en_US")


def title_and_body(event: Any, locale: str | None) -> tuple[str, str]:
    """A stored event's title (at most 200 characters, as stored) and body for a reader in
    ``locale``; the stored English when it has no words, or words this catalog no longer knows
    (an id renamed since the event was stored)."""
    words = event.words or {}
    try:
        title = render(words["title"], locale)[:200] if words.get("title") else event.title
        body = BODY_JOIN.join(render(w, locale) for w in words.get("body") or ()) or event.body
    except (KeyError, IndexError, TypeError, ValueError):
        return event.title, event.body
    return title, body


def write(message: str, locale: str | None, **values: Any) -> str:
    """One message in ``locale`` at once (what a producer's words become when read)."""
    return render(Words(message, values).as_json(), locale)


def language_of(locale: str | None) -> str:
    """The language a reader in ``locale`` reads these texts in ("de" for de_DE and de-AT)."""
    language = resolve_locale(locale).language
    return language if language in LANGUAGES else "en"


def render(stored: dict[str, Any], locale: str | None) -> str:
    """The stored words in ``locale``'s language (English when the catalog has none), with its
    numbers, dates and amounts."""
    return _render(stored, str(resolve_locale(locale)), language_of(locale))


def _render(stored: dict[str, Any], locale: str, language: str) -> str:
    template = CATALOG[stored["id"]][language]
    values = {k: _value(v, locale, language) for k, v in stored.get("values", {}).items()}
    return template.format(**values)


def _value(value: Any, locale: str, language: str) -> str:
    if isinstance(value, int):
        return format_decimal(value, locale=locale)
    if isinstance(value, dict):
        if "id" in value:
            return _render(value, locale, language)
        if "currency" in value:
            return format_currency(
                Decimal(value["amount"]), value["currency"], _amount_pattern(locale), locale=locale
            )
        if "date" in value:
            return format_date(date.fromisoformat(value["date"]), "medium", locale=locale)
    return str(value)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _storable(value: Any) -> bool:
    if isinstance(value, Words | str) or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    return isinstance(value, dict) and (set(value) in ({"amount", "currency"}, {"date"}))


@functools.cache
def _amount_pattern(locale: str) -> str:
    """The locale's grouping (Indian lakhs too), the currency's decimals, the ISO code after."""
    grouping = resolve_locale(locale).decimal_formats[None].pattern.split(";")[0].split(".")[0]
    return f"{grouping}.00 ¤¤"
