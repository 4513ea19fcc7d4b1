"""One-click unsubscribe (RFC 8058): signed links, the switch they flip, and the page behind them.

A link carries ``<user id>.<signature>``, the signature an HMAC-SHA256 of the user id under the
project's secret key, so nobody can make one for another user and no table of tokens is needed.
Links do not expire: an e-mail from last year must still unsubscribe. Rotating the secret key
invalidates them all.

``GET`` only shows a confirmation form: mail scanners and link previews fetch every URL in a
message, and must not unsubscribe anyone. ``POST`` (the one-click request mail clients send, or the
form) unsubscribes at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.defs.notifications.texts import language_of
from bg_agents.lib.db.models import Team, User

_DOMAIN = b"bg-agents/unsubscribe/v1:"  # a signature made here means nothing anywhere else
_TOKEN = re.compile(r"([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{43})")
MAX_BODY = 16 * 1024  # a one-click body is 26 bytes; read at most this much of anything


def _signature(user_id: int, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), _DOMAIN + str(user_id).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def unsubscribe_token(user_id: int, secret: str) -> str:
    """``<user id>.<signature>``: URL-safe, valid for this user only, forgeable by nobody."""
    if not isinstance(user_id, int) or user_id <= 0:
        raise ValueError("user_id must be a positive integer")
    if not secret:
        raise ValueError("the secret key is empty")
    return f"{user_id}.{_signature(user_id, secret)}"


def verify(token: str, secret: str) -> int | None:
    """The user id a token was made for, or None when it was not made with ``secret``."""
    if not isinstance(token, str) or not secret:
        return None
    match = _TOKEN.fullmatch(token)
    if not match:
        return None
    user_id = int(match.group(1))
    expected = _signature(user_id, secret)
    return user_id if hmac.compare_digest(expected, match.group(2)) else None


def unsubscribe_url(base_url: str, user_id: int, secret: str) -> str:
    """The link for ``List-Unsubscribe`` and the footer (``base_url``: BG_AGENTS_PUBLIC_URL)."""
    return f"{base_url.rstrip('/')}/unsubscribe?token={quote(unsubscribe_token(user_id, secret))}"


def unsubscribe(conn: Connection, user_id: int) -> bool:
    """Turn every e-mail off for the user (``notification_prefs["unsubscribed"] = True``).

    The row is locked while its preferences are rewritten (PostgreSQL), so a concurrent change
    of other preferences is not lost. Returns False when there is no such user.
    """
    prefs = conn.execute(
        sa.select(User.notification_prefs).where(User.id == user_id).with_for_update()
    ).first()
    if prefs is None:
        return False
    current = prefs[0] if isinstance(prefs[0], dict) else {}
    if current.get("unsubscribed") is not True:
        changed = {**current, "unsubscribed": True}
        conn.execute(sa.update(User).where(User.id == user_id).values(notification_prefs=changed))
    return True


# -- the page ----------------------------------------------------------------------------------

StartResponse = Callable[..., Any]

_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),  # the token must not leave in a Referer header
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    ),
]

_PAGE = (
    '<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width"><title>{title}</title></head>'
    '<body style="font-family:sans-serif;max-width:32em;margin:3em auto">{body}</body></html>\n'
)
# The page in the language the member's e-mails are written in (their locale, else the team's).
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "ask_title": "Unsubscribe",
        "ask": "Unsubscribe from e-mail?",
        "ask_text": "You will receive no more e-mail notifications. In-app notifications stay as "
        "they are.",
        "button": "Unsubscribe",
        "done_title": "Unsubscribed",
        "done": "You are unsubscribed",
        "done_text": "You will receive no more e-mail notifications.",
    },
    "de": {
        "ask_title": "Abmelden",
        "ask": "Von E-Mails abmelden?",
        "ask_text": "Sie erhalten dann keine Benachrichtigungen mehr per E-Mail. "
        "Benachrichtigungen in der App bleiben, wie sie sind.",
        "button": "Abmelden",
        "done_title": "Abgemeldet",
        "done": "Sie sind abgemeldet",
        "done_text": "Sie erhalten keine Benachrichtigungen mehr per E-Mail.",
    },
    "fr": {
        "ask_title": "Se désabonner",
        "ask": "Se désabonner des e-mails ?",
        "ask_text": "Vous ne recevrez plus de notifications par e-mail. Les notifications dans "
        "l'application restent inchangées.",
        "button": "Se désabonner",
        "done_title": "Désabonné",
        "done": "Vous êtes désabonné",
        "done_text": "Vous ne recevrez plus de notifications par e-mail.",
    },
    "es": {
        "ask_title": "Darse de baja",
        "ask": "¿Darse de baja del correo?",
        "ask_text": "No recibirá más notificaciones por correo electrónico. Las notificaciones "
        "en la aplicación se mantienen.",
        "button": "Darse de baja",
        "done_title": "Baja confirmada",
        "done": "Se ha dado de baja",
        "done_text": "No recibirá más notificaciones por correo electrónico.",
    },
}


def _reader(engine: Engine, user_id: int) -> tuple[str, bool]:
    """(The language of the member's e-mails, whether they are unsubscribed already); English
    and not when there are no words here for it or the database cannot say."""
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(sa.func.coalesce(User.locale, Team.locale), User.notification_prefs)
                .join(Team, Team.id == User.team_id)
                .where(User.id == user_id)
            ).first()
    except sa.exc.SQLAlchemyError:
        return "en", False
    if row is None:
        return "en", False
    prefs = row[1] if isinstance(row[1], dict) else {}
    return language_of(row[0]), prefs.get("unsubscribed") is True


def _answer(
    start_response: StartResponse, status: str, body: str, content_type: str = "text/html"
) -> list[bytes]:
    data = body.encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", f"{content_type}; charset=utf-8"),
            ("Content-Length", str(len(data))),
            *_HEADERS,
        ],
    )
    return [data]


def _page(title: str, body: str, language: str) -> str:
    return _PAGE.format(lang=language, title=html.escape(title), body=body)


def _drain(environ: dict[str, Any]) -> None:
    """Read (and ignore) the request body: the signed token is what authorizes, and a body left
    unread can confuse a keep-alive connection."""
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    if length > 0:
        environ["wsgi.input"].read(length)


def unsubscribe_app(engine: Engine, secret: str) -> Callable[..., Iterable[bytes]]:
    """A WSGI app (``wsgiref.simple_server`` serves it) for ``/unsubscribe?token=...``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO", "") not in ("/unsubscribe", "/unsubscribe/"):
            return _answer(start_response, "404 Not Found", "Not found.\n", "text/plain")
        if method not in ("GET", "POST"):
            start_response(
                "405 Method Not Allowed",
                [("Allow", "GET, POST"), ("Content-Type", "text/plain; charset=utf-8")],
            )
            return [b"Use GET to see the page or POST to unsubscribe.\n"]
        if method == "POST":
            _drain(environ)
        tokens = parse_qs(environ.get("QUERY_STRING", "")).get("token", [])
        user_id = verify(tokens[0], secret) if len(tokens) == 1 else None
        if user_id is None:
            return _answer(
                start_response,
                "400 Bad Request",
                "This unsubscribe link is invalid or incomplete: nothing was changed. "
                "Copy the whole link from the e-mail, or change your settings in the app.\n",
                "text/plain",
            )
        token = html.escape(tokens[0], quote=True)
        language, already = _reader(engine, user_id)
        words = _WORDS[language]
        w = {k: html.escape(v) for k, v in words.items()}
        if method != "POST" and already:  # a second visit: say so, ask nothing
            done = f"<h1>{w['done']}</h1><p>{w['done_text']}</p>"
            return _answer(start_response, "200 OK", _page(words["done_title"], done, language))
        if method != "POST":
            form = (
                f"<h1>{w['ask']}</h1><p>{w['ask_text']}</p>"
                f'<form method="post" action="/unsubscribe?token={token}">'
                '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
                f'<button type="submit">{w["button"]}</button></form>'
            )
            return _answer(start_response, "200 OK", _page(words["ask_title"], form, language))
        try:
            with engine.begin() as conn:
                unsubscribe(conn, user_id)
        except sa.exc.SQLAlchemyError:
            return _answer(
                start_response,
                "503 Service Unavailable",
                "Could not unsubscribe right now; please try again in a minute.\n",
                "text/plain",
            )
        done = f"<h1>{w['done']}</h1><p>{w['done_text']}</p>"
        return _answer(start_response, "200 OK", _page(words["done_title"], done, language))

    return app
