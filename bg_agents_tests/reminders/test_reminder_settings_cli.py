"""``bg-agents reminders settings`` and ``reminders customer``, in-process against the test's own
database: settings round-trip (printed after each change, stored, defaults until changed), and a
user's mistakes (bad steps, a second address, an unknown team or customer) are one line, exit 2,
with nothing written."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.cli import main
from bg_agents.lib.db.models import Customer, ReminderSettings, Team


@pytest.fixture
def team(engine: Engine) -> int:
    with engine.begin() as conn:
        team_id = conn.execute(
            sa.insert(Team).returning(Team.id),
            {"slug": "acme", "name": "Acme", "time_zone": "Europe/Berlin", "base_currency": "EUR"},
        ).scalar_one()
        conn.execute(
            sa.insert(Customer),
            {"team_id": team_id, "external_id": "C-1", "name": "Anna", "email": "a@kunde.test"},
        )
        return int(team_id)


@pytest.fixture
def cli(app_env: str, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``bg-agents``; (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run


def test_settings_round_trip(cli, team: int, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("reminders", "settings", "--team", "acme")
    assert code == 0
    assert out.splitlines()[0] == "acme: customer payment reminders off"
    assert "steps:            1, 7, 14" in out  # the defaults, before anything is saved

    code, out, _ = cli(
        "reminders", "settings", "--team", "acme", "--customer-reminders", "on",
        "--steps=-3,14,1,7", "--reply-to", "billing@acme.test",
        "--payment-details", "IBAN DE89 3704 0044 0532 0130 00\nBIC COBADEFFXXX",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == "acme: customer payment reminders on"
    assert "steps:            -3, 1, 7, 14" in out
    assert "reply-to:         billing@acme.test" in out
    code, out, _ = cli("reminders", "settings", "--team", "acme", "--json")
    assert json.loads(out) == {
        "team": "acme",
        "customer_reminders": True,
        "steps": [-3, 1, 7, 14],
        "reply_to": "billing@acme.test",
        "payment_details": "IBAN DE89 3704 0044 0532 0130 00\nBIC COBADEFFXXX",
    }
    # One option changes one thing; '' clears.
    cli("reminders", "settings", "--team", "acme", "--customer-reminders", "off", "--reply-to", "")
    with engine.connect() as conn:
        row = conn.execute(sa.select(ReminderSettings)).one()
    assert (row.customer_reminders, row.customer_steps, row.reply_to) == (
        False,
        [-3, 1, 7, 14],
        None,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "1,1"], "the reminder steps repeat a day"),
        (["--steps", "1,x"], "a reminder step is a whole number of days, not 'x'"),
        (["--steps", "400"], "between -30 and 365 days"),
        (["--steps", "99999"], "between -30 and 365 days from the due date, not 99999"),
        (["--steps=1,-" + "9" * 5000], "between -30 and 365 days"),  # no int() of 5,000 digits
        (["--steps", "1,,7"], "comma-separated days"),
        (["--steps", ",".join(str(d) for d in range(1, 12))], "at most 10 reminder steps"),
        ([], "customer reminders need a reply-to for customers' answers: give --reply-to"),
        (["--reply-to", ""], "need a reply-to"),
        (["--reply-to", "a@x.test, b@x.test"], "the reply-to must be one e-mail address"),
        (["--reply-to", "a@x.test\r\nBcc: e@x.test"], "the reply-to must be one e-mail address"),
        (["--reply-to", "Billing <a@x.test>"], "the reply-to must be one e-mail address"),
        (["--payment-details", "x" * 1001], "at most 1000"),
    ],
)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # checked before any query
def test_settings_rejects_mistakes_with_exit_2(cli, team, engine, args, message) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("reminders", "settings", "--team", "acme", "--customer-reminders", "on",
                         *args)  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith("bg-agents: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(ReminderSettings)).all() == []  # nothing written


def test_unknown_team_or_customer_is_a_clear_error(cli, team) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("reminders", "settings", "--team", "nope")
    assert code == 2 and "unknown team 'nope'" in err
    code, _, err = cli("reminders", "customer", "--team", "acme", "--customer", "C-9", "--opt-in")
    assert code == 2 and "the team has no customer 'C-9'" in err


def test_customer_opt_in_and_locale_round_trip(cli, team, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("reminders", "customer", "--team", "acme", "--customer", "C-1")
    assert code == 0 and "payment reminders opted out, language the team's" in out
    code, out, _ = cli(
        "reminders", "customer", "--team", "acme", "--customer", "C-1", "--opt-in",
        "--locale", "de-AT",
    )  # fmt: skip
    assert code == 0
    assert (
        out.strip() == "acme/C-1 (Anna, a@kunde.test): payment reminders opted in, language de_AT"
    )
    with engine.connect() as conn:
        assert conn.execute(sa.select(Customer.reminders_opt_in, Customer.locale)).one() == (
            True,
            "de_AT",
        )
    code, out, _ = cli("reminders", "customer", "--team", "acme", "--customer", "C-1",
                       "--opt-out", "--locale", "", "--json")  # fmt: skip
    assert json.loads(out)["opt_in"] is False and json.loads(out)["locale"] is None
    code, _, err = cli("reminders", "customer", "--team", "acme", "--customer", "C-1",
                       "--locale", "xx_YY")  # fmt: skip
    assert code == 2 and "unknown locale 'xx_YY'" in err


def test_the_reply_to_cannot_be_cleared_while_customer_reminders_are_on(cli, team, engine) -> None:  # type: ignore[no-untyped-def]
    on = ("reminders", "settings", "--team", "acme")
    assert cli(*on, "--customer-reminders", "on", "--reply-to", "billing@acme.test")[0] == 0
    code, out, err = cli(*on, "--reply-to", "")
    assert code == 2 and out == ""
    assert err.strip() == (
        "bg-agents: error: customer reminders are on: the reply-to cannot be cleared (turn them "
        "off first with --customer-reminders off, or give another --reply-to)"
    )
    # Turned off, it may go; on again without one is refused; other changes need none.
    assert cli(*on, "--customer-reminders", "off", "--reply-to", "")[0] == 0
    assert cli(*on, "--customer-reminders", "on")[0] == 2
    assert cli(*on, "--steps", "2,9")[0] == 0
    with engine.connect() as conn:
        row = conn.execute(sa.select(ReminderSettings)).one()
    assert (row.customer_reminders, row.reply_to, row.customer_steps) == (False, None, [2, 9])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_steps_starting_with_a_negative_day_need_the_equals_form(cli, team) -> None:  # type: ignore[no-untyped-def]
    base = ("reminders", "settings", "--team", "acme", "--json")
    assert json.loads(cli(*base, "--steps=-7,-3,1")[1])["steps"] == [-7, -3, 1]
    assert json.loads(cli(*base, "--steps", "-3")[1])["steps"] == [-3]  # one number: argparse's
    assert json.loads(cli(*base, "--steps", "1,-3")[1])["steps"] == [-3, 1]
    with pytest.raises(SystemExit) as exc:  # argparse's own usage error
        cli(*base, "--steps", "-3,1")
    assert exc.value.code == 2
