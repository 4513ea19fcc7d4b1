"""A team's webhook reaches only public addresses, whatever its host name resolves to when a
delivery connects (not only when ``webhooks add`` checked it); the operators' alert webhook may
be internal. Real receivers: one on this machine's own non-loopback address (a private one),
one on 127.0.0.1; host names resolve through a resolver the test gives the sender, so a name
can point anywhere, as a hostile DNS would make it."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bg_agents.defs.notifications.channels.public_transport import allowed
from bg_agents.defs.notifications.channels.webhook import WebhookError, WebhookSender
from bg_agents.defs.notifications.deliver import deliver
from bg_agents.defs.notifications.events import Event, notify
from bg_agents.defs.notifications.flush import flush
from bg_agents.lib.db.models import Notification, Team, WebhookEndpoint
from bg_agents_tests.notifications.test_webhook_channel import SECRET, Receiver


def resolving(table: dict[str, list[str]]) -> Any:
    """A getaddrinfo that answers from ``table`` (and fails for any other name)."""

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    return resolve


def own_private_address() -> str | None:
    """This machine's address on its network (the source of a route outwards), if it is not
    public: what an internal service would listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # no packet is sent: it only picks a route
        except OSError:
            return None
        address = probe.getsockname()[0]
    ip = ipaddress.ip_address(address)
    return None if ip.is_global or ip.is_loopback else address


@pytest.fixture
def internal() -> Iterator[Receiver]:
    address = own_private_address()
    if address is None:
        pytest.skip("this machine has no private non-loopback address to stand for a service")
    with Receiver(host=address) as r:
        yield r


def post(sender: WebhookSender, url: str) -> None:
    sender.send(url, SECRET, b'{"a":1}', "k1", datetime.now(UTC))


def test_a_host_resolving_to_a_private_address_is_refused_and_nothing_reaches_it(
    internal: Receiver,
) -> None:
    address = internal.host
    url = f"http://hooks.acme.example:{internal.port}/hook"
    # Alone, or among public addresses (a resolver may hand out both): refused either way.
    for answer in ([address], ["93.184.216.34", address]):
        resolve = resolving({"hooks.acme.example": answer})
        with WebhookSender(resolve=resolve) as sender, pytest.raises(WebhookError) as caught:
            post(sender, url)
        assert not caught.value.transient  # the team's setting to change, not worth retrying
        assert "private, link-local or reserved address" in str(caught.value)
        assert address in str(caught.value)
    assert internal.received == []
    # The same receiver by its literal address, as a team: refused; as the operators: reached.
    with WebhookSender() as sender, pytest.raises(WebhookError):
        post(sender, internal.url("/hook"))
    with WebhookSender(public_only=False) as sender:
        post(sender, internal.url("/hook"))
    assert [r.path for r in internal.received] == ["/hook"]


def test_the_connection_goes_to_the_address_that_was_checked_with_the_host_name_kept(
    receiver: Receiver,
) -> None:
    port = receiver.port
    # No system resolver knows this name: only the checked answer can have been connected to.
    resolve = resolving({"relay.acme.example": ["127.0.0.1"]})
    with WebhookSender(resolve=resolve) as sender:
        post(sender, f"http://relay.acme.example:{port}/hook")
        post(sender, f"http://relay.acme.example:{port}/hook")
    assert [r.headers["Host"] for r in receiver.received] == [f"relay.acme.example:{port}"] * 2
    assert all(r.verified for r in receiver.received)
    assert len(receiver.connections) == 1  # pooled per host name, as before


def test_a_host_that_does_not_resolve_is_transient() -> None:
    with WebhookSender(resolve=resolving({})) as sender, pytest.raises(WebhookError) as caught:
        post(sender, "https://gone.acme.example/hook")
    assert caught.value.transient  # DNS comes back; the retries cover it
    assert "cannot resolve the host" in str(caught.value)


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("10.0.0.5", False),
        ("172.16.3.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("fd00::2", False),
        ("fe80::1%eth0", False),
        ("::ffff:10.0.0.5", False),  # a private IPv4 address written as IPv6
    ],
)
def test_which_addresses_a_teams_webhook_may_reach(address: str, ok: bool) -> None:
    assert allowed(address) is ok


def test_delivery_refuses_a_teams_internal_endpoint_and_reaches_the_operators_one(
    engine, app_env, internal: Receiver
) -> None:  # type: ignore[no-untyped-def]
    # Both endpoints name the internal service (a team's row written before `webhooks add`
    # checked addresses, or by hand); only the operators' is theirs to point inside.
    now = datetime.now(UTC).replace(microsecond=0)
    url = internal.url("/hook")
    with engine.begin() as conn:
        for slug in ("acme", "_operators"):
            team = conn.execute(
                sa.insert(Team).returning(Team.id),
                {"slug": slug, "name": slug, "time_zone": "UTC", "base_currency": "EUR",
                 "locale": "en_US"},
            ).scalar_one()  # fmt: skip
            conn.execute(sa.insert(WebhookEndpoint), {"team_id": team, "url": url,
                                                      "secret": SECRET})  # fmt: skip
            notify(conn, [Event(f"doc-{slug}", team, "document.matched", "B")], now)
    flush(engine, now, email=False)
    result = deliver(engine, now)
    assert result.delivered["webhook"] == 1
    assert len(internal.received) == 1 and internal.received[0].verified
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                sa.select(Team.slug, Notification.status)
                .join(Notification, Notification.team_id == Team.id)
                .where(Notification.channel == "webhook")
            ).all()
        )
        error = conn.scalar(sa.select(Notification.last_error).where(Notification.status == "dead"))
    assert rows == {"acme": "dead", "_operators": "delivered"}  # final at once: no retries
    assert "private, link-local or reserved address" in error


def test_https_over_the_checked_address_verifies_the_certificate_for_the_host_name(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the receiver's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.acme.example",
         "-addext", "subjectAltName=DNS:hooks.acme.example"],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the one certificate the sender trusts
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with Receiver(tls=tls) as receiver:
        port = receiver.port
        names = {"hooks.acme.example": ["127.0.0.1"], "other.acme.example": ["127.0.0.1"]}
        with WebhookSender(resolve=resolving(names)) as sender:
            post(sender, f"https://hooks.acme.example:{port}/hook")
            with pytest.raises(WebhookError, match="certificate"):
                post(sender, f"https://other.acme.example:{port}/hook")
        assert [r.headers["Host"] for r in receiver.received] == [f"hooks.acme.example:{port}"]
