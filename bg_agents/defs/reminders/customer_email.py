"""The payment reminder a team's customer receives: polite, in the customer's language, firmer
as the invoice ages.

The customer is not a user of bg-agents: the message comes from the team (its name as the From
display name on the configured sender address, replies to the team's ``reply_to``), and there is
no unsubscribe link to user preferences; the footer says the team sends it on bg-agents. Texts
exist in English, German, French and Spanish; the language is the customer's, else the team's,
else English. Amounts and dates are formatted by babel for that locale. Every value that reaches
a header is reduced to one line (no header injection); the HTML part escapes everything.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from bg_agents.defs.notifications import EMAIL_POLICY

FIRM_AFTER = 14  # days past due from which the tone is firmer

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject_before": "Upcoming payment: invoice {number} is due on {due}",
        "subject_after": "Payment reminder: invoice {number}",
        "subject_firm": "Overdue: invoice {number}, {days} days past due",
        "hello": "Hello {name},",
        "before": "This is a friendly heads-up that invoice {number} for {amount} is due on "
        "{due}. If you have already arranged the payment, please disregard this message.",
        "after": "According to our records, invoice {number}, due on {due}, has not been paid "
        "yet. We would be grateful if you could settle the outstanding amount of {amount} at "
        "your earliest convenience. If you have already paid, please disregard this message.",
        "firm": "Invoice {number}, due on {due}, is now {days} days overdue, and {amount} is "
        "still outstanding. Please arrange the payment within the next few days, or reply to "
        "this e-mail if there is a problem with the invoice.",
        "partial": "Thank you for the payment received so far: {amount} of the invoice total "
        "of {total} remains open.",
        "details": "Payment details:",
        "regards": "Kind regards,",
        "footer": "{team} sends this payment reminder with bg-agents. "
        "Questions about the invoice? Reply to this e-mail.",
    },
    "de": {
        "subject_before": "Zahlungshinweis: Rechnung {number} ist am {due} fällig",
        "subject_after": "Zahlungserinnerung: Rechnung {number}",
        "subject_firm": "Überfällig: Rechnung {number}, seit {days} Tagen fällig",
        "hello": "Guten Tag {name},",
        "before": "wir möchten Sie freundlich daran erinnern, dass die Rechnung {number} über "
        "{amount} am {due} fällig wird. Falls Sie die Zahlung bereits veranlasst haben, "
        "betrachten Sie diese Nachricht bitte als gegenstandslos.",
        "after": "nach unseren Unterlagen ist die Rechnung {number}, fällig am {due}, noch nicht "
        "beglichen. Wir wären Ihnen dankbar, wenn Sie den offenen Betrag von {amount} "
        "baldmöglichst überweisen. Falls Sie bereits gezahlt haben, betrachten Sie diese "
        "Nachricht bitte als gegenstandslos.",
        "firm": "die Rechnung {number}, fällig am {due}, ist nun seit {days} Tagen überfällig, "
        "und {amount} sind noch offen. Bitte veranlassen Sie die Zahlung in den nächsten Tagen, "
        "oder antworten Sie auf diese E-Mail, falls es ein Problem mit der Rechnung gibt.",
        "partial": "Vielen Dank für die bisherige Zahlung: Von der Rechnungssumme {total} sind "
        "noch {amount} offen.",
        "details": "Zahlungsinformationen:",
        "regards": "Mit freundlichen Grüßen",
        "footer": "{team} versendet diese Zahlungserinnerung mit bg-agents. "
        "Fragen zur Rechnung? Antworten Sie einfach auf diese E-Mail.",
    },
    "fr": {
        "subject_before": "Paiement à venir : la facture {number} arrive à échéance le {due}",
        "subject_after": "Rappel de paiement : facture {number}",
        "subject_firm": "En retard : facture {number}, échue depuis {days} jours",
        "hello": "Bonjour {name},",
        "before": "Nous vous rappelons aimablement que la facture {number} d'un montant de "
        "{amount} arrive à échéance le {due}. Si vous avez déjà effectué le paiement, merci de ne "
        "pas tenir compte de ce message.",
        "after": "Selon nos registres, la facture {number}, échue le {due}, n'a pas encore été "
        "réglée. Nous vous serions reconnaissants de bien vouloir régler le montant restant de "
        "{amount} dans les meilleurs délais. Si vous avez déjà payé, merci de ne pas tenir "
        "compte de ce message.",
        "firm": "La facture {number}, échue le {due}, est en retard de {days} jours et {amount} "
        "restent à régler. Merci d'effectuer le paiement dans les prochains jours, ou de "
        "répondre à cet e-mail si la facture pose un problème.",
        "partial": "Merci pour le paiement déjà reçu : sur le total de {total}, il reste "
        "{amount} à régler.",
        "details": "Coordonnées de paiement :",
        "regards": "Cordialement,",
        "footer": "{team} envoie ce rappel de paiement avec bg-agents. "
        "Une question sur la facture ? Répondez à cet e-mail.",
    },
    "es": {
        "subject_before": "Próximo pago: la factura {number} vence el {due}",
        "subject_after": "Recordatorio de pago: factura {number}",
        "subject_firm": "Vencida: factura {number}, {days} días de retraso",
        "hello": "Hola, {name}:",
        "before": "Le recordamos amablemente que la factura {number} por {amount} vence el "
        "{due}. Si ya ha realizado el pago, puede ignorar este mensaje.",
        "after": "Según nuestros registros, la factura {number}, con vencimiento el {due}, aún "
        "no se ha pagado. Le agradeceríamos que abonara el importe pendiente de {amount} lo "
        "antes posible. Si ya ha pagado, puede ignorar este mensaje.",
        "firm": "La factura {number}, con vencimiento el {due}, lleva {days} días vencida y "
        "quedan {amount} pendientes. Le rogamos que realice el pago en los próximos días o que "
        "responda a este correo si hay algún problema con la factura.",
        "partial": "Gracias por el pago recibido: del total de {total} quedan {amount} pendientes.",
        "details": "Datos para el pago:",
        "regards": "Saludos cordiales,",
        "footer": "{team} envía este recordatorio de pago con bg-agents. "
        "¿Preguntas sobre la factura? Responda a este correo.",
    },
}


@dataclass(frozen=True)
class CustomerReminderMail:
    """What one customer reminder says; ``amount_due`` is what remains at send time."""

    key: str  # the reminder's natural key: the Message-ID is fixed by it
    to_address: str
    customer_name: str
    team_name: str
    invoice_number: str
    amount_due: Decimal
    amount_total: Decimal
    currency: str
    due_date: date
    step: int  # days after the due date (negative: before)
    locales: tuple[str | None, ...]  # the customer's, then the team's
    payment_details: str | None = None
    reply_to: str | None = None
    created_at: datetime | None = None
    # Days past due on the team's date of sending (None: the step's): a retry or a catch-up the
    # next day says one day more than the step it was scheduled for.
    days_overdue: int | None = None


def one_line(text: object) -> str:
    """Any run of whitespace (CR, LF, U+2028 included) as one space: no header injection."""
    return " ".join(str(text).split())


def pick_locale(locales: tuple[str | None, ...]) -> tuple[str, str]:
    """(babel locale, text language): the first given locale whose language has texts."""
    from babel import Locale, UnknownLocaleError

    for candidate in locales:
        if not candidate:
            continue
        try:
            locale = Locale.parse(candidate.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
        if locale.language in _TEXTS:
            return str(locale), locale.language
    return "en", "en"


def tone(step: int) -> str:
    """``before`` (due today or later), ``after`` (overdue), ``firm`` (FIRM_AFTER+ days)."""
    if step <= 0:
        return "before"
    return "firm" if step >= FIRM_AFTER else "after"


def _bare_address(text: str, what: str) -> str:
    address = parseaddr(one_line(text))[1]
    if "@" not in address or address != one_line(text).strip("<>"):
        raise ValueError(f"{what} is not one e-mail address: {one_line(text)[:80]!r}")
    return address


def message_id(key: str, sender: str) -> str:
    """``<rem.hash@sender-domain>``: a resend of one reminder carries the same id."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "bg-agents.invalid"
    return f"<rem.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def render_customer_reminder(mail: CustomerReminderMail, sender: str) -> EmailMessage:
    """The e-mail, plain text and HTML. ``sender``: the configured From (``Name <addr>`` or an
    address; its name is replaced by the team's). ``ValueError`` for an address that cannot be
    written."""
    from babel.dates import format_date
    from babel.numbers import format_currency

    locale, language = pick_locale(mail.locales)
    t = _TEXTS[language]
    days = mail.step if mail.days_overdue is None else mail.days_overdue
    values = {
        "number": one_line(mail.invoice_number),
        "amount": format_currency(mail.amount_due, mail.currency, locale=locale),
        "total": format_currency(mail.amount_total, mail.currency, locale=locale),
        "due": format_date(mail.due_date, format="long", locale=locale),
        "days": days,
        "name": one_line(mail.customer_name) or "",
        "team": one_line(mail.team_name),
    }
    kind = tone(mail.step)
    paragraphs = [t["hello"].format(**values), t[kind].format(**values)]
    if mail.amount_due < mail.amount_total:
        paragraphs.append(t["partial"].format(**values))
    details = (mail.payment_details or "").strip()
    if details:
        paragraphs.append(t["details"] + "\n" + details)
    paragraphs.append(t["regards"] + "\n" + values["team"])
    footer = t["footer"].format(**values)
    text = "\n\n".join(paragraphs) + f"\n\n-- \n{footer}\n"

    e = html.escape
    body_html = "".join(f"<p>{e(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    subject = one_line(t[f"subject_{kind}"].format(**values))
    page = (
        f'<!DOCTYPE html><html lang="{e(locale.replace("_", "-"))}"><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>"
        f'<body style="font-family:sans-serif;line-height:1.4">{body_html}'
        f'<hr><p style="color:#666;font-size:small">{e(footer)}</p></body></html>\n'
    )

    from_addr = _bare_address(parseaddr(one_line(sender))[1] or sender, "the sender")
    user, _, domain = from_addr.rpartition("@")
    msg = EmailMessage(policy=EMAIL_POLICY)
    msg["Subject"] = subject
    msg["From"] = Address(display_name=values["team"], username=user, domain=domain)
    msg["To"] = _bare_address(mail.to_address, "the customer's address")
    if mail.reply_to:
        msg["Reply-To"] = _bare_address(mail.reply_to, "the reply-to")
    created = mail.created_at or datetime.now(UTC)
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created
    msg["Date"] = format_datetime(created.astimezone(UTC))
    msg["Message-ID"] = message_id(mail.key, from_addr)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders stay quiet
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    msg["Content-Language"] = locale.replace("_", "-")
    return msg
