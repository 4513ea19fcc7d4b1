"""A webhook URL checked once, the same way for team endpoints (``bg-agents webhooks add``) and the
operators' alert webhook (``BG_AGENTS_OPERATOR_WEBHOOK_URL``): what the delivery client will
accept and the database column can hold, said in one line without echoing a password."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

MAX_URL = 2048  # the webhook_endpoints.url column's width


def check_url(url: str) -> str:
    """``url`` stripped, or a ValueError saying what is wrong with it (never echoing a password)."""
    url = url.strip()
    if not url:
        raise ValueError("the webhook URL is empty")
    if len(url) > MAX_URL:
        raise ValueError(f"the webhook URL is {len(url):,} characters long; at most {MAX_URL:,}")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("the webhook URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number fails here
    except ValueError:
        raise ValueError("not a valid webhook URL; expected https://host/path") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "none"
        raise ValueError(f"a webhook URL must be http:// or https:// (scheme: {shown})")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "a webhook URL must not carry credentials (user:password@); receivers check the "
            "X-BG-Signature made with the endpoint's secret instead"
        )
    if not parts.hostname:
        raise ValueError("the webhook URL has no host; expected https://host/path")
    if port == 0:
        raise ValueError("the webhook URL's port must be 1-65535")
    try:
        httpx.URL(url)  # the client that will POST to it must accept it too (host characters...)
    except httpx.InvalidURL:
        raise ValueError("not a valid webhook URL; expected https://host/path") from None
    return url


LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def team_may_reach(address: Address) -> bool:
    """What a team's webhook may connect to: a public address, or this machine's loopback (a
    test or a local relay). Checked on a literal address when the endpoint is added and on
    every resolved one when a delivery connects (notifications' public_transport)."""
    return address.is_loopback or address.is_global


def _literal_address(host: str) -> Address | None:
    """The address a host names literally, also in the forms the system resolver accepts for
    IPv4 ("2852039166", "0xa9fea9fe" and "0251.0376.0251.0376" are 169.254.169.254)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_team_url(url: str) -> str:
    """:func:`check_url`, then what a team's endpoint may not be: plain http to another machine
    (payment data in the clear) or an address inside a private network, the link-local range or
    this machine's other interfaces (a team must not make the server call its internal
    services, such as a cloud's metadata at 169.254.169.254). Loopback stays allowed, with http
    too: a receiver on this machine is a test or a local relay."""
    url = check_url(url)
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    address = _literal_address(host)
    loopback = host in LOCAL_NAMES or (address is not None and address.is_loopback)
    if loopback:
        return url
    if address is not None and not team_may_reach(address):
        raise ValueError(
            f"a team's webhook URL may not point to a private, link-local or reserved address "
            f"({host}): the receiver must be reachable on the internet"
        )
    if parts.scheme.lower() != "https":
        raise ValueError(
            "a team's webhook URL must be https:// (payments would travel in the clear); "
            "http:// only to this machine (127.0.0.1, localhost)"
        )
    return url
