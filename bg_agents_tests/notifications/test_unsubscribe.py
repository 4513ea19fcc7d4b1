"""One-click unsubscribe: signed links only their user can use, and the page behind them served by
``wsgiref`` on 127.0.0.1 and called over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.notifications.unsubscribe import (
    unsubscribe,
    unsubscribe_app,
    unsubscribe_token,
    unsubscribe_url,
    verify,
)
from bg_agents.lib.db.models import Team, User

SECRET = "test-secret-key-0123456789"
LEGACY = {"in_app": True, "email": True, "muted": ["invoice.paid"]}


def test_a_token_names_its_user_and_nobody_else() -> None:
    token = unsubscribe_token(42, SECRET)
    assert verify(token, SECRET) == 42
    assert token == unsubscribe_token(42, SECRET)  # stable: no state to keep
    signature = token.split(".", 1)[1]
    assert verify(f"43.{signature}", SECRET) is None  # another user's id with this signature
    assert verify(token, "another-secret-key-012345") is None
    assert verify(unsubscribe_token(43, SECRET), SECRET) == 43
    url = unsubscribe_url("https://app.example.com/", 42, SECRET)
    assert url == f"https://app.example.com/unsubscribe?token={token}"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "42",
        "42.",
        ".abc",
        "042." + "A" * 43,
        "-1." + "A" * 43,
        "42." + "A" * 43,
        "x" * 10_000,
        "٤٢." + "A" * 43,  # Arabic-Indic digits: int() would take them
        None,
    ],
)
def test_junk_tokens_are_refused(token: Any) -> None:
    assert verify(token, SECRET) is None
    assert verify(unsubscribe_token(42, SECRET), "") is None


def _user(engine: Engine, email: str = "ana@example.com", prefs: dict | None = None) -> int:
    with engine.begin() as conn:
        team_id = (
            conn.execute(sa.select(Team.id).where(Team.slug == "acme")).scalar_one_or_none()
            or conn.execute(
                sa.insert(Team)
                .values(slug="acme", name="Acme", time_zone="Europe/Berlin", base_currency="EUR")
                .returning(Team.id)
            ).scalar_one()
        )
        return conn.execute(
            sa.insert(User)
            .values(
                team_id=team_id, email=email, name="Ana", notification_prefs=prefs or dict(LEGACY)
            )
            .returning(User.id)
        ).scalar_one()


def _prefs(engine: Engine, user_id: int) -> dict:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(User.notification_prefs).where(User.id == user_id)
        ).scalar_one()


def test_unsubscribe_turns_email_off_and_keeps_the_other_preferences(engine: Engine) -> None:
    user_id, other = _user(engine), _user(engine, "bo@example.com")
    with engine.begin() as conn:
        assert unsubscribe(conn, user_id) and unsubscribe(conn, user_id)  # twice is fine
        assert not unsubscribe(conn, 999_999)
    assert _prefs(engine, user_id) == {**LEGACY, "unsubscribed": True}
    assert _prefs(engine, other) == LEGACY


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture
def page(engine: Engine) -> Iterator[str]:
    """The unsubscribe app served by wsgiref on 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, unsubscribe_app(engine, SECRET), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_one_click_post_unsubscribes_at_once(engine: Engine, page: str) -> None:
    user_id, other = _user(engine), _user(engine, "bo@example.com")
    url = unsubscribe_url(page, user_id, SECRET)
    # What a mail client sends for List-Unsubscribe-Post (RFC 8058).
    response = httpx.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and "unsubscribed" in response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert _prefs(engine, user_id)["unsubscribed"] is True
    assert "unsubscribed" not in _prefs(engine, other)


def test_get_only_shows_a_form_that_posts_back(engine: Engine, page: str) -> None:
    """Link scanners fetch every URL in a mail: a GET must change nothing."""
    user_id = _user(engine)
    url = unsubscribe_url(page, user_id, SECRET)
    shown = httpx.get(url)
    assert shown.status_code == 200 and '<form method="post"' in shown.text
    assert _prefs(engine, user_id) == LEGACY
    action = shown.text.split('action="', 1)[1].split('"', 1)[0]
    posted = httpx.post(page + action, data={"List-Unsubscribe": "One-Click"})
    assert posted.status_code == 200
    assert _prefs(engine, user_id)["unsubscribed"] is True


def test_a_bad_token_is_400_and_changes_nothing(engine: Engine, page: str) -> None:
    user_id = _user(engine)
    token = unsubscribe_token(user_id, SECRET)
    forged = f"{user_id + 1}.{token.split('.', 1)[1]}"
    other_secret = unsubscribe_token(user_id, "some-other-secret-key-123")
    for query in (f"?token={forged}", f"?token={other_secret}", "", "?token=", "?token=a&token=b"):
        response = httpx.post(f"{page}/unsubscribe{query}", content=b"List-Unsubscribe=One-Click")
        assert response.status_code == 400, query
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "invalid" in response.text and "Traceback" not in response.text
    assert httpx.get(f"{page}/unsubscribe?token={forged}").status_code == 400
    assert httpx.get(f"{page}/elsewhere").status_code == 404
    assert httpx.put(unsubscribe_url(page, user_id, SECRET)).status_code == 405
    assert _prefs(engine, user_id) == LEGACY


def test_the_command_keeps_tokens_out_of_its_log_and_names_a_taken_port(
    engine: Engine, app_env: str, tmp_path: Any
) -> None:
    """`bg-agents notifications serve-unsubscribe`: a link's token unsubscribes its member, so
    the access log shows the path only; a port already taken is one line naming it."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bin_ = os.path.join(os.path.dirname(sys.executable), "bg-agents")
    args = [bin_, "notifications", "serve-unsubscribe", "--host", "127.0.0.1", "--port", str(port)]
    # Started with SIGTERM ignored, as a process Dagster's interrupt handling ran in can leave
    # it (and exec keeps it): SIGTERM must still stop the server.
    server = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
    )
    try:
        for _ in range(100):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/unsubscribe?token=SECRET-TOKEN-42")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert answer.status_code == 400  # not a token made with the key
        taken = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert taken.returncode == 2
        assert taken.stderr == (
            f"bg-agents: error: cannot serve on 127.0.0.1:{port}: Address already in use "
            "(another --port or --host?)\n"
        )
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert '"GET /unsubscribe" 400' in log and "SECRET-TOKEN-42" not in log


@pytest.mark.parametrize(
    ("user_locale", "team_locale", "lang", "asked", "done"),
    [
        (None, "de_DE", "de", "Von E-Mails abmelden?", "Sie sind abgemeldet"),
        ("fr_FR", "de_DE", "fr", "Se désabonner des e-mails ?", "Vous êtes désabonné"),
        ("es_MX", "en_US", "es", "¿Darse de baja del correo?", "Se ha dado de baja"),
        (None, "ja_JP", "en", "Unsubscribe from e-mail?", "You are unsubscribed"),
    ],
)
def test_the_page_speaks_the_language_of_the_members_emails(
    engine: Engine,
    page: str,
    user_locale: str | None,
    team_locale: str,
    lang: str,
    asked: str,
    done: str,
) -> None:
    user_id = _user(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(User).where(User.id == user_id).values(locale=user_locale))
        conn.execute(sa.update(Team).values(locale=team_locale))
    url = unsubscribe_url(page, user_id, SECRET)
    shown = httpx.get(url)
    assert asked in shown.text
    assert f'<html lang="{lang}">' in shown.text
    assert done in httpx.post(url, content=b"List-Unsubscribe=One-Click").text
    again = httpx.get(url).text  # the link opened again: done, not asked again
    assert done in again and "<form" not in again
