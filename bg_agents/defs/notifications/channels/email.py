"""The e-mail channel: an ``Outgoing`` rendered as a multipart message and sent over SMTP.

``render_email`` builds the message (plain text and HTML, the RFC 8058 one-click unsubscribe
headers, a footer in the user's language, a ``Message-ID`` fixed by the delivery key so a resend
is recognizable as the same message). ``SmtpSender`` keeps one connection open for many messages:
a new connection costs a TCP and TLS handshake and an AUTH, far more than a message.

Failures are ``DeliveryError``: a 4xx reply, a timeout or a lost connection is transient; a 5xx
reply about the message or its recipient (550 unknown mailbox) is permanent. Failures of the
connection itself (refused, TLS, AUTH) are transient too: the message is fine, the server or its
configuration is not, and once that is fixed the retries go through.
"""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, parseaddr
from types import TracebackType
from typing import Any

from bg_agents.defs.notifications.channels.base import DeliveryError, Outgoing
from bg_agents.defs.notifications.texts import write
from bg_agents.lib import blobs
from bg_agents.lib.settings import Settings

DEFAULT_TIMEOUT = 10.0  # seconds for connecting and for each SMTP reply
# Most mail servers refuse messages over 10-25 MB; base64 adds a third.
MAX_ATTACHMENT = 7 * 1024 * 1024

# The footer, per language; anything else reads English.
_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "footer": "You receive this because you are a member of {team} on bg-agents.",
        "unsubscribe": "Unsubscribe",
    },
    "de": {
        "footer": "Sie erhalten diese E-Mail, weil Sie Mitglied von {team} bei bg-agents sind.",
        "unsubscribe": "Abmelden",
    },
    "fr": {
        "footer": "Vous recevez cet e-mail parce que vous êtes membre de {team} sur bg-agents.",
        "unsubscribe": "Se désabonner",
    },
    "es": {
        "footer": "Recibe este correo porque es miembro de {team} en bg-agents.",
        "unsubscribe": "Darse de baja",
    },
}
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


class _UnfoldedLink(UnstructuredHeader):
    """``List-Unsubscribe: <https://...>`` written as is. The stock policy cannot fold a URL
    longer than a line at a space, so it wrote it as RFC 2047 encoded words, which mail
    providers do not decode in this header: one-click unsubscribe (RFC 8058) never showed. A
    line may be 998 characters; the URL is ASCII (checked when the message is made)."""

    def fold(self, *, policy: Any) -> str:
        text = f"{self.name}: {self}"
        if text.isascii() and len(text) <= 998:
            return text + policy.linesep
        return super().fold(policy=policy)


class _Headers(HeaderRegistry):
    """The standard header classes, each made once: the stock registry builds a new class for
    every header it parses (a tenth of a message's rendering time)."""

    def __init__(self) -> None:
        super().__init__()
        self.map_to_type("list-unsubscribe", _UnfoldedLink)
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


_POLICY = default_policy.clone(header_factory=_Headers())


def email_configured(settings: Settings) -> bool:
    """Whether e-mail deliveries should be created at all (``BG_AGENTS_SMTP_URL`` is set)."""
    return settings.smtp is not None and settings.smtp_from is not None


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server. ``ssl_context``/``ca_file`` replace the system's trusted
    certificates (a private CA, a test's self-signed server); verification is never off."""

    host: str
    port: int
    security: str  # "plain" | "starttls" | "tls"
    sender: str  # the From header, "Name <addr>" allowed
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    ca_file: str | None = None
    local_hostname: str | None = None  # the EHLO name; None: this machine's FQDN

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> SmtpConfig:
        """The configured server; ``overrides`` set the other fields (timeout, ca_file, ...)."""
        if settings.smtp is None or settings.smtp_from is None:
            raise ValueError("e-mail is off: set BG_AGENTS_SMTP_URL and BG_AGENTS_SMTP_FROM")
        s = settings.smtp
        return cls(
            host=s.host,
            port=s.port,
            security=s.security,
            sender=settings.smtp_from,
            username=s.username,
            password=s.password,
            **overrides,
        )

    def tls_context(self) -> ssl.SSLContext:
        if self.ssl_context is not None:
            return self.ssl_context
        return ssl.create_default_context(cafile=self.ca_file)


# -- rendering ---------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Any run of whitespace (CR, LF, U+2028 included) as one space: no header injection."""
    return " ".join(str(text).split())


def _language(locale: str) -> tuple[str, str]:
    """(Content-Language tag, key into _TEXTS) for a locale such as ``de_DE``."""
    if not locale or not _LOCALE.fullmatch(locale):
        return "en", "en"
    tag = locale.replace("_", "-")
    language = tag.split("-", 1)[0].lower()
    return tag, language if language in _TEXTS else "en"


def _address(text: str, what: str) -> str:
    _, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    if (
        not at
        or not local
        or not domain
        or any(c.isspace() for c in text if c != " ")
        or any(c.isspace() for c in addr)
    ):
        raise DeliveryError(
            f"{what} is not an e-mail address: {_one_line(text)[:80]!r}", transient=False
        )
    return text.strip()


def _message_id(key: str, sender: str) -> str:
    """``<hash-of-key@sender-domain>``: the same delivery key always gives the same id."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "bg-agents.invalid"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<bg.{digest}@{domain}>"


def _html(outgoing: Outgoing, texts: dict[str, str], lang: str, footer: str, url: str) -> str:
    e = html.escape
    if outgoing.items:
        # The body's first line is the summary; the rest restates the items for plain text.
        intro = outgoing.body.strip().split("\n", 1)[0] if outgoing.body.strip() else ""
        lis = "".join(
            f"<li><strong>{e(str(i.get('title', '')))}</strong>"
            + (f"<br>{e(str(i['body']))}" if i.get("body") else "")
            + "</li>"
            for i in outgoing.items
        )
        more = (
            f"<p>{e(write('digest_more', outgoing.locale, n=outgoing.more))}</p>"
            if outgoing.more > 0
            else ""
        )
        main = (f"<p>{e(intro)}</p>" if intro else "") + f"<ul>{lis}</ul>{more}"
    else:
        paragraphs = [p for p in re.split(r"\n\s*\n", outgoing.body.strip()) if p.strip()]
        main = "".join(f"<p>{e(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        f"<title>{e(_one_line(outgoing.title))}</title></head>"
        f'<body style="font-family:sans-serif;line-height:1.4">'
        f"<h2>{e(_one_line(outgoing.title))}</h2>{main}"
        f'<hr><p style="color:#666;font-size:small">{e(footer)} '
        f'<a href="{e(url, quote=True)}">{e(texts["unsubscribe"])}</a></p>'
        "</body></html>\n"
    )


def render_email(
    outgoing: Outgoing, to_addr: str, from_addr: str, unsubscribe_url: str
) -> EmailMessage:
    """The message for one recipient; raises ``DeliveryError`` (permanent) for a bad address."""
    to_addr = _address(to_addr, "the recipient")
    from_addr = _address(from_addr, "the sender")
    if not re.fullmatch(r"https?://[^\s<>\"]+", unsubscribe_url):
        raise ValueError("the unsubscribe URL must be an http(s) URL without spaces or <>")
    tag, language = _language(outgoing.locale)
    texts = _TEXTS[language]
    team = _one_line(outgoing.team_name or outgoing.team_slug)
    footer = texts["footer"].format(team=team)
    text = outgoing.body.rstrip()
    if outgoing.more > 0 and not outgoing.items:
        text += "\n" + write("digest_more", outgoing.locale, n=outgoing.more)
    text += f"\n\n-- \n{footer}\n{texts['unsubscribe']}: {unsubscribe_url}\n"

    created = outgoing.created_at
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created

    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = _one_line(outgoing.title) or outgoing.category
    msg["From"] = from_addr
    msg["To"] = to_addr
    msg["Date"] = format_datetime(created.astimezone(UTC))
    msg["Message-ID"] = _message_id(outgoing.key, from_addr)
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders stay quiet
    msg.set_content(text)
    msg.add_alternative(_html(outgoing, texts, tag, footer, unsubscribe_url), subtype="html")
    msg["Content-Language"] = tag  # after the parts: making them moves Content-* headers down
    if outgoing.attachment:
        _attach(msg, outgoing.attachment)
    return msg


def _attach(msg: EmailMessage, attachment: dict[str, Any]) -> None:
    """Attach the file exactly as recorded: the bytes read now must have the recorded SHA-256,
    or the e-mail is not sent (a file that changed since is not the one announced)."""
    path = str(attachment["path"])
    if int(attachment.get("size") or 0) > MAX_ATTACHMENT:
        raise DeliveryError(f"{path} is larger than {MAX_ATTACHMENT:,} bytes", transient=False)
    try:
        data = blobs.read(path)
    except blobs.BlobError as exc:  # storage unreachable for now: a later attempt may read it
        raise DeliveryError(str(exc), transient=True) from exc
    if hashlib.sha256(data).hexdigest() != attachment["sha256"]:
        raise DeliveryError(f"{path} changed since it was announced", transient=False)
    maintype, _, subtype = str(attachment.get("media_type") or "application/pdf").partition("/")
    filename = _one_line(str(attachment.get("filename") or path.rsplit("/", 1)[-1]))
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)


# -- sending -----------------------------------------------------------------------------------

_CONNECTION_ERRORS = (OSError, smtplib.SMTPException)  # socket.timeout and ssl errors are OSErrors


class SmtpSender:
    """One SMTP connection for many messages, opened on the first ``send``.

    A connection the server dropped (an idle timeout, a 421, a restart) is reopened once per
    message. When the server cannot be reached at all, later sends in the same ``with`` block fail
    at once with the same transient error instead of each waiting out a timeout.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._conn: smtplib.SMTP | None = None
        self._down: DeliveryError | None = None
        self.connections = 0  # opened so far, for metadata and tests

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except _CONNECTION_ERRORS:
                conn.close()

    def _error(self, what: str, exc: BaseException, *, transient: bool) -> DeliveryError:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, smtplib.SMTPResponseException):
            message = exc.smtp_error
            text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
            detail = f"{exc.smtp_code} {text}"
        detail = _one_line(detail)[:200]
        if self.config.password:
            detail = detail.replace(self.config.password, "***")
        c = self.config
        return DeliveryError(f"{what} ({c.host}:{c.port}): {detail}", transient=transient)

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        conn: smtplib.SMTP | None = None
        try:
            if c.security == "tls":
                conn = smtplib.SMTP_SSL(
                    c.host,
                    c.port,
                    local_hostname=c.local_hostname,
                    timeout=c.timeout,
                    context=c.tls_context(),
                )
            else:
                conn = smtplib.SMTP(
                    c.host, c.port, local_hostname=c.local_hostname, timeout=c.timeout
                )
            conn.ehlo()
            if c.security == "starttls":
                conn.starttls(context=c.tls_context())  # refuses a server without STARTTLS
                conn.ehlo()
            if c.username:
                conn.login(c.username, c.password or "")
        except (*_CONNECTION_ERRORS, UnicodeEncodeError) as exc:  # smtplib's AUTH is ASCII-only
            if conn is not None:
                conn.close()
            self._down = self._error("cannot connect to the SMTP server", exc, transient=True)
            raise self._down from None
        self.connections += 1
        return conn

    def send(self, msg: EmailMessage) -> dict[str, DeliveryError]:
        """Send one message. Returns the recipients the server refused while taking the message
        for others (each one that recipient's failure); raises ``DeliveryError`` when nobody got
        it."""
        if self._down is not None:
            raise self._down
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                refused = self._conn.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                raise self._refused(exc.recipients) from None
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421 and attempt == 1:  # closing: the server hung up
                    self._drop()
                    continue
                transient = 400 <= exc.smtp_code < 500 or exc.smtp_code == 421
                self._reset()
                raise self._error("the SMTP server refused", exc, transient=transient) from None
            except (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionError) as exc:
                self._drop()
                if attempt == 1 and not isinstance(exc, TimeoutError):
                    continue  # a dropped connection: reopen once
                raise self._error("the SMTP connection failed", exc, transient=True) from None
            except _CONNECTION_ERRORS as exc:
                self._drop()
                raise self._error("the SMTP connection failed", exc, transient=True) from None
            return {addr: self._refused({addr: reply}) for addr, reply in refused.items()}
        raise AssertionError("unreachable")  # pragma: no cover

    def _refused(self, recipients: dict[str, tuple[int, bytes]]) -> DeliveryError:
        codes = [code for code, _ in recipients.values()]
        transient = all(400 <= code < 500 for code in codes)
        parts = []
        for addr, (code, reply) in recipients.items():
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            parts.append(f"{addr}: {code} {_one_line(text)}")
        return DeliveryError("recipient refused: " + "; ".join(parts)[:300], transient=transient)

    def _reset(self) -> None:
        """After a refused message the session is still good; smtplib has sent RSET already."""
        if self._conn is not None and self._conn.sock is None:
            self._conn = None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
