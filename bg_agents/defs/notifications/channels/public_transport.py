"""An HTTP transport that connects only to public addresses: a team's webhook cannot make the
server call into its own network.

``webhooks add`` refuses an endpoint whose URL names a private address literally, but a host name
is resolved only when a delivery connects, and it may resolve to anything (10.0.0.5, a cloud's
metadata service at 169.254.169.254), or to a public address when it is added and a private one
later. So the check is made where the connection is made: this transport resolves the host
itself, refuses it when any of its addresses is private, link-local or reserved, and connects
to the address it checked (never resolving twice). TLS still verifies the certificate against
the host name, and connections are pooled per host name as usual. Loopback stays allowed: a
receiver on this machine is a test or a local relay. The operators' own alert webhook, set by
whoever runs the service, is sent without this transport. A proxy named in the environment
(``HTTPS_PROXY``) is not used here (httpx mounts such proxies only beside its own transport):
the check must see the address connected to.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from bg_agents.lib.urls import team_may_reach

Resolve = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's shape

# httpcore's errors as httpx's (the sender tells timeouts, refusals and protocol errors apart).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)
_CORE_ERRORS = tuple(theirs for theirs, _ in _ERRORS)


class NotPublic(httpcore.ConnectError):
    """The host resolves to an address a team's webhook may not reach."""


class NotPublicError(httpx.ConnectError):
    """:class:`NotPublic` as the client raises it: final, not worth a retry."""


def allowed(address: str) -> bool:
    """:func:`team_may_reach` for an address as the resolver writes it."""
    return team_may_reach(ipaddress.ip_address(address.split("%", 1)[0]))  # a zone ("%eth0") aside


class _PublicBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, opened only to addresses :func:`allowed` accepts."""

    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = self._resolve(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve the host: {exc}") from None
        addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
        if not addresses:
            raise NotPublic("the host resolves to no address")
        for address in addresses:
            if not allowed(address):
                raise NotPublic(
                    f"the host resolves to a private, link-local or reserved address ({address})"
                )
        error: httpcore.ConnectError | None = None
        for address in addresses:  # each one checked above; the first that answers
            try:
                return self._sockets.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are sent over TCP only")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


@contextmanager
def _as_httpx(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except NotPublic as exc:
        raise NotPublicError(str(exc), request=request) from None
    except _CORE_ERRORS as exc:
        ours = next(o for theirs, o in _ERRORS if isinstance(exc, theirs))
        raise ours(str(exc), request=request) from None


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes], request: httpx.Request) -> None:
        self._stream, self._request = stream, request

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx(self._request):
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class PublicTransport(httpx.BaseTransport):
    """:class:`httpx.HTTPTransport`'s job (pooled HTTP/1.1, TLS verified) over sockets that
    reach only public addresses (and loopback). ``resolve`` is ``socket.getaddrinfo`` unless a
    test gives its own."""

    def __init__(self, limits: httpx.Limits, resolve: Resolve = socket.getaddrinfo) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PublicBackend(resolve),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx(request):
            answer = self._pool.handle_request(core)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream, request),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()
