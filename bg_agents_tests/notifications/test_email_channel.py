"""The e-mail channel against a real SMTP server (aiosmtpd) the tests start on 127.0.0.1.

What a recipient and an operator rely on: the message parses back with its subject, both parts,
the one-click unsubscribe headers and the footer in the user's language; AUTH happens only over a
verified STARTTLS; a 4xx reply or an unreachable server is worth a retry, a 5xx reply is not; many
messages share one connection, which is reopened when the server dropped it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bg_agents.defs.notifications.channels.base import DeliveryError, Outgoing
from bg_agents.defs.notifications.channels.email import (
    SmtpConfig,
    SmtpSender,
    email_configured,
    render_email,
)
from bg_agents.lib.settings import load_settings

FROM = "Büro Müller <billing@example.com>"
UNSUB = "http://127.0.0.1:8025/unsubscribe?token=7.abc_-"
USER, PASSWORD = "bot@example.com", "p@ss:w0rd/%"


class Recorder:
    """An aiosmtpd handler that keeps what it accepted; some recipients or DATA get a reply."""

    def __init__(self, rcpt: dict[str, str] | None = None, data: str | None = None) -> None:
        self.rcpt = rcpt or {}
        self.data = data
        self.received: list[dict[str, Any]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        if self.data:
            return self.data
        self.received.append(
            {
                "peer": session.peer,
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "raw": envelope.original_content,
                "tls": session.ssl is not None,
            }
        )
        return "250 Message accepted"

    def parsed(self, i: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.received[i]["raw"], policy=email.policy.default)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(handler: Recorder, **params: Any) -> Iterator[int]:
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **params)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def plain_port(recorder: Recorder) -> Iterator[int]:
    with smtp_server(recorder) as port:
        yield port


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: trusted only where a test passes it as the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def tls_port(recorder: Recorder, cert: tuple[Path, Path]) -> Iterator[int]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*cert)
    with smtp_server(
        recorder,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=_authenticator,
    ) as port:
        yield port


def outgoing(key: str = "digest:acme:1", **changes: Any) -> Outgoing:
    base = Outgoing(
        key=key,
        team_slug="acme",
        team_name="Müller & Söhne GmbH",
        category="match.linked",
        title="5 neue Belege für Müller & Söhne",
        body="Sie haben 5 neue Belege: 3 Quittungen, 2 Rechnungen\n- Tankstelle Süd\n- <b>Bäcker",
        locale="de_DE",
        created_at=dt.datetime(2026, 3, 9, 8, 30, tzinfo=dt.UTC),
        items=[
            {"title": "Tankstelle Süd", "body": "42,00 € – Quittung"},
            {"title": "<script>alert(1)</script> Bäcker", "body": "3,20 €"},
        ],
        more=3,
    )
    return replace(base, **changes)


def plain_config(port: int, **changes: Any) -> SmtpConfig:
    return SmtpConfig(
        "127.0.0.1", port, "plain", FROM, timeout=5, local_hostname="client.test", **changes
    )


def test_a_digest_parses_back_with_both_parts_headers_and_a_german_footer(
    recorder: Recorder, plain_port: int
) -> None:
    msg = render_email(outgoing(), "Jürgen Groß <juergen@example.com>", FROM, UNSUB)
    with SmtpSender(plain_config(plain_port)) as sender:
        assert sender.send(msg) == {}
    (got,) = recorder.received
    assert got["to"] == ["juergen@example.com"] and got["from"] == "billing@example.com"
    parsed = recorder.parsed()
    assert parsed["Subject"] == "5 neue Belege für Müller & Söhne"
    assert parsed["From"].addresses[0].display_name == "Büro Müller"
    assert parsed["To"].addresses[0].display_name == "Jürgen Groß"
    assert parsed["List-Unsubscribe"] == f"<{UNSUB}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Content-Language"] == "de-DE"
    assert parsed["Date"].datetime == dt.datetime(2026, 3, 9, 8, 30, tzinfo=dt.UTC)
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Sie haben 5 neue Belege: 3 Quittungen, 2 Rechnungen\n- Tankstelle Süd")
    assert "Mitglied von Müller & Söhne GmbH" in text and f"Abmelden: {UNSUB}" in text
    page = parsed.get_body(("html",)).get_content()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Bäcker" in page
    assert page.count("<li>") == 2 and "und 3 weitere" in page
    assert "Müller &amp; Söhne" in page and f'href="{UNSUB}"' in page
    assert "&lt;b&gt;Bäcker" not in page  # the body's restated items are not listed twice


def test_a_title_with_line_breaks_cannot_add_headers(recorder: Recorder, plain_port: int) -> None:
    evil = outgoing(title="Hello\r\nBcc: victim@example.com\r\n\r\nbody", items=[], more=0)
    msg = render_email(evil, "a@example.com", FROM, UNSUB)
    with SmtpSender(plain_config(plain_port)) as sender:
        sender.send(msg)
    parsed = recorder.parsed()
    assert parsed["Subject"] == "Hello Bcc: victim@example.com body"
    assert parsed["Bcc"] is None and recorder.received[0]["to"] == ["a@example.com"]
    with pytest.raises(DeliveryError) as caught:
        render_email(evil, "a@example.com\r\nBcc: victim@example.com", FROM, UNSUB)
    assert not caught.value.transient


@pytest.mark.parametrize(
    ("locale", "language", "unsubscribe"),
    [
        ("fr_CH", "fr-CH", "Se désabonner"),
        ("en_US", "en-US", "Unsubscribe"),
        ("ja_JP", "ja-JP", "Unsubscribe"),  # no Japanese texts yet: English words
        ("de\r\nX-Evil: 1", "en", "Unsubscribe"),
        ("", "en", "Unsubscribe"),
    ],
)
def test_the_footer_speaks_the_users_language_or_english(
    locale: str, language: str, unsubscribe: str
) -> None:
    msg = render_email(outgoing(locale=locale, items=[], more=0), "a@example.com", FROM, UNSUB)
    assert msg["Content-Language"] == language and msg["X-Evil"] is None
    assert f"{unsubscribe}: {UNSUB}" in msg.get_body(("plain",)).get_content()


def test_the_message_id_is_fixed_by_the_delivery_key() -> None:
    def mid(key: str) -> str:
        return render_email(outgoing(key), "a@example.com", FROM, UNSUB)["Message-ID"]

    assert mid("digest:acme:1") == mid("digest:acme:1") != mid("digest:acme:2")
    assert mid("digest:acme:1").endswith("@example.com>")


def test_auth_over_starttls_with_a_trusted_certificate(
    recorder: Recorder, tls_port: int, cert: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "BG_AGENTS_HOME": str(tmp_path),
            "BG_AGENTS_SMTP_URL": f"smtp://bot%40example.com:p%40ss%3Aw0rd%2F%25@127.0.0.1:{tls_port}?starttls=1",
            "BG_AGENTS_SMTP_FROM": FROM,
        }
    )
    assert email_configured(settings)
    assert not email_configured(load_settings({"BG_AGENTS_HOME": str(tmp_path)}))
    config = SmtpConfig.from_settings(settings, ca_file=str(cert[0]), timeout=5)
    assert PASSWORD not in repr(config)
    with SmtpSender(config) as sender:
        sender.send(render_email(outgoing(), "a@example.com", FROM, UNSUB))
    (got,) = recorder.received
    assert got["tls"] and recorder.parsed()["Subject"].startswith("5 neue Belege")


def test_an_untrusted_certificate_or_a_wrong_password_is_refused_and_retryable(
    recorder: Recorder, tls_port: int, cert: tuple[Path, Path]
) -> None:
    base = SmtpConfig(
        "127.0.0.1", tls_port, "starttls", FROM, USER, PASSWORD, timeout=5, local_hostname="c"
    )
    msg = render_email(outgoing(), "a@example.com", FROM, UNSUB)
    for config, says in (
        (base, "CERTIFICATE_VERIFY_FAILED"),  # the system CAs do not know the test's certificate
        (replace(base, ca_file=str(cert[0]), password="wrong-secret"), "535"),
        # Without TLS the server offers no AUTH, and the password is never sent in clear.
        (replace(base, ca_file=str(cert[0]), security="plain"), "AUTH extension not supported"),
    ):
        with SmtpSender(config) as sender, pytest.raises(DeliveryError) as caught:
            sender.send(msg)
        assert caught.value.transient and says in str(caught.value)
        assert "wrong-secret" not in str(caught.value) and PASSWORD not in str(caught.value)
    assert recorder.received == []


@pytest.mark.parametrize(
    ("rcpt", "data", "transient", "says"),
    [
        ({"a@example.com": "550 5.1.1 <a@example.com>: unknown mailbox"}, None, False, "550"),
        ({"a@example.com": "451 4.3.0 try again later"}, None, True, "451"),
        ({}, "451 4.7.1 greylisted, come back later", True, "greylisted"),
        ({}, "552 5.3.4 message too big", False, "552"),
    ],
)
def test_4xx_replies_are_transient_and_5xx_permanent(
    rcpt: dict[str, str], data: str | None, transient: bool, says: str
) -> None:
    recorder = Recorder(rcpt, data)
    with smtp_server(recorder) as port, SmtpSender(plain_config(port)) as sender:
        msg = render_email(outgoing(), "a@example.com", FROM, UNSUB)
        with pytest.raises(DeliveryError) as caught:
            sender.send(msg)
        assert caught.value.transient is transient and says in str(caught.value)
        # The session survives a refused message: the next one goes through on it.
        recorder.rcpt, recorder.data = {}, None
        sender.send(msg)
        assert len(recorder.received) == 1 and sender.connections == 1


def test_a_recipient_refused_among_others_is_that_recipients_failure() -> None:
    recorder = Recorder({"gone@example.com": "550 5.1.1 unknown mailbox"})
    msg = render_email(outgoing(), "a@example.com", FROM, UNSUB)
    msg["Cc"] = "gone@example.com"
    with smtp_server(recorder) as port, SmtpSender(plain_config(port)) as sender:
        refused = sender.send(msg)
    assert list(refused) == ["gone@example.com"] and not refused["gone@example.com"].transient
    assert recorder.received[0]["to"] == ["a@example.com"]


def test_a_server_that_is_down_is_transient_and_fails_fast_afterwards() -> None:
    msg = render_email(outgoing(), "a@example.com", FROM, UNSUB)
    with SmtpSender(plain_config(_free_port())) as sender:
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(DeliveryError, match="cannot connect") as caught:
                sender.send(msg)
            assert caught.value.transient and time.monotonic() - started < 1


def test_many_messages_share_one_connection_reopened_once_dropped() -> None:
    recorder = Recorder()
    # The server drops a connection idle for 2 s: long enough that a loaded machine's pause
    # between two of the 50 sends does not (it did at 0.5 s, once in a full parallel run).
    with smtp_server(recorder, timeout=2.0) as port, SmtpSender(plain_config(port)) as sender:
        for i in range(50):
            sender.send(render_email(outgoing(f"k{i}"), f"u{i}@example.com", FROM, UNSUB))
        assert sender.connections == 1
        time.sleep(3.0)  # the server closes the idle connection (421 timeout)
        sender.send(render_email(outgoing("late"), "late@example.com", FROM, UNSUB))
        assert sender.connections == 2
    assert len(recorder.received) == 51
    assert len({r["peer"] for r in recorder.received[:50]}) == 1
    assert recorder.received[-1]["to"] == ["late@example.com"]


def test_an_attachment_arrives_as_recorded_or_the_email_is_not_sent(
    recorder: Recorder, plain_port: int, tmp_path: Path
) -> None:
    import hashlib

    pdf = b"%PDF-1.7 month-end report \x00\xff"
    path = tmp_path / "acme" / "2026-10" / "v1.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(pdf)
    announced = {
        "path": str(path),
        "filename": "Müller\r\nBcc: x@example.com 2026-10 v1.pdf",
        "media_type": "application/pdf",
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "size": len(pdf),
    }
    msg = render_email(outgoing(attachment=announced), "a@example.com", FROM, UNSUB)
    with SmtpSender(plain_config(plain_port)) as sender:
        assert sender.send(msg) == {}
    parsed = recorder.parsed()
    (part,) = list(parsed.iter_attachments())
    assert part.get_content_type() == "application/pdf" and part.get_content() == pdf
    assert part.get_filename() == "Müller Bcc: x@example.com 2026-10 v1.pdf"
    assert parsed["Bcc"] is None
    assert "Sie haben 5 neue Belege" in parsed.get_body(("plain",)).get_content()

    path.write_bytes(pdf + b"changed")
    with pytest.raises(DeliveryError, match="changed since") as changed:
        render_email(outgoing(attachment=announced), "a@example.com", FROM, UNSUB)
    assert not changed.value.transient
    path.unlink()
    with pytest.raises(DeliveryError, match="could not read") as missing:
        render_email(outgoing(attachment=announced), "a@example.com", FROM, UNSUB)
    assert missing.value.transient, "storage may come back: retry"


def test_the_unsubscribe_link_header_reaches_the_server_as_a_plain_url(
    recorder: Recorder, plain_port: int
) -> None:
    """The URL is longer than a folded line and has no space to fold at: it went out as RFC
    2047 encoded words, which Python decodes but mail providers do not in this header, so their
    one-click unsubscribe never showed."""
    link = "https://app.example.com/unsubscribe?token=42." + "A" * 43
    with SmtpSender(plain_config(plain_port)) as sender:
        sender.send(render_email(outgoing(), "a@example.com", FROM, link))
    (got,) = recorder.received
    raw = got["raw"].replace(b"\r\n", b"\n")
    assert f"\nList-Unsubscribe: <{link}>\n".encode() in raw
    assert b"\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" in raw
