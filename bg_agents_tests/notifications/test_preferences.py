"""Preferences: what a user allows per category x channel, and when their quiet hours end, on
their wall clock across DST changes; the legacy format of simulated users, and junk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bg_agents.defs.notifications.preferences import (
    Preferences,
    categories,
    parse_pair,
    parse_quiet,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def quiet(start: str, end: str) -> Preferences:
    return Preferences.of({"quiet_hours": {"start": start, "end": end}})


# (zone, quiet hours, now UTC, expected end UTC or None, why)
DST_CASES = [
    # Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET: 22:00-07:00 is 10 hours that night.
    ("Europe/Berlin", "22:00", "07:00", "2026-10-24 19:59", None, "before 22:00 CEST"),
    ("Europe/Berlin", "22:00", "07:00", "2026-10-24 20:00", "2026-10-25 06:00", "22:00 CEST"),
    ("Europe/Berlin", "22:00", "07:00", "2026-10-25 00:30", "2026-10-25 06:00", "02:30 CEST"),
    ("Europe/Berlin", "22:00", "07:00", "2026-10-25 01:30", "2026-10-25 06:00", "02:30 CET"),
    ("Europe/Berlin", "22:00", "07:00", "2026-10-25 05:59", "2026-10-25 06:00", "06:59 CET"),
    ("Europe/Berlin", "22:00", "07:00", "2026-10-25 06:00", None, "07:00 CET: over"),
    # Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST.
    ("Europe/Berlin", "01:30", "03:00", "2026-03-29 00:29", None, "01:29 CET"),
    ("Europe/Berlin", "01:30", "03:00", "2026-03-29 00:30", "2026-03-29 01:00", "01:30 CET"),
    ("Europe/Berlin", "01:30", "03:00", "2026-03-29 00:59", "2026-03-29 01:00", "01:59 CET"),
    ("Europe/Berlin", "01:30", "03:00", "2026-03-29 01:00", None, "03:00 CEST: over"),
    # A start in the skipped hour begins when the clock jumps over it.
    ("Europe/Berlin", "02:30", "05:00", "2026-03-29 00:59", None, "01:59 CET"),
    ("Europe/Berlin", "02:30", "05:00", "2026-03-29 01:00", "2026-03-29 03:00", "03:00 CEST"),
    # An end in the skipped hour ends at the jump, not an hour later.
    ("Europe/Berlin", "22:00", "02:30", "2026-03-29 00:59", "2026-03-29 01:00", "01:59 CET"),
    # New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT, falls back 11-01.
    ("America/New_York", "01:30", "03:00", "2026-03-08 06:30", "2026-03-08 07:00", "01:30 EST"),
    ("America/New_York", "01:30", "03:00", "2026-03-08 07:00", None, "03:00 EDT"),
    ("America/New_York", "02:15", "04:00", "2026-03-08 07:00", "2026-03-08 08:00", "03:00 EDT"),
    ("America/New_York", "22:00", "07:00", "2026-11-01 02:00", "2026-11-01 12:00", "22:00 EDT"),
    ("America/New_York", "22:00", "07:00", "2026-11-01 06:30", "2026-11-01 12:00", "01:30 EDT"),
    ("America/New_York", "22:00", "07:00", "2026-11-01 11:59", "2026-11-01 12:00", "06:59 EST"),
    ("America/New_York", "22:00", "07:00", "2026-11-01 12:00", None, "07:00 EST"),
]


@pytest.mark.parametrize(("tz", "start", "end", "now", "until", "why"), DST_CASES)
def test_quiet_hours_end_on_the_users_wall_clock_across_dst(  # type: ignore[no-untyped-def]
    tz, start, end, now, until, why
) -> None:
    expected = utc(until) if until else None
    assert quiet(start, end).quiet_until(utc(now), tz) == expected, why


def test_the_fall_back_night_is_ten_hours_and_the_spring_night_half_an_hour() -> None:
    begins = utc("2026-10-24 20:00")  # 22:00 CEST
    ends = quiet("22:00", "07:00").quiet_until(begins, "Europe/Berlin")
    assert ends is not None and (ends - begins).total_seconds() == 10 * 3600
    begins = utc("2026-03-29 00:30")  # 01:30 CET
    ends = quiet("01:30", "03:00").quiet_until(begins, "Europe/Berlin")
    assert ends is not None and (ends - begins).total_seconds() == 30 * 60


def test_quiet_hours_wrap_midnight_in_the_users_zone() -> None:
    night = quiet("22:00", "07:00")
    # Tokyo is UTC+9 all year: 23:30 local is inside, ending at 07:00 local the next day.
    assert night.quiet_until(utc("2026-06-01 14:30"), "Asia/Tokyo") == utc("2026-06-01 22:00")
    # 05:00 local, after midnight: the period that began yesterday, same end.
    assert night.quiet_until(utc("2026-06-01 20:00"), "Asia/Tokyo") == utc("2026-06-01 22:00")
    assert night.quiet_until(utc("2026-06-01 22:00"), "Asia/Tokyo") is None  # 07:00 sharp
    assert night.quiet_until(utc("2026-06-01 12:59"), "Asia/Tokyo") is None  # 21:59
    # The same instant is quiet or not by the zone: the team's zone when the user has none.
    assert night.quiet_until(utc("2026-06-01 14:30"), "America/New_York") is None
    day = quiet("09:00", "17:00")  # not wrapping
    assert day.quiet_until(utc("2026-06-01 12:00"), "UTC") == utc("2026-06-01 17:00")
    assert day.quiet_until(utc("2026-06-01 17:00"), "UTC") is None


def test_no_quiet_hours_and_unknown_zone() -> None:
    assert Preferences.of({}).quiet_until(utc("2026-06-01 23:00"), "UTC") is None
    # A bad zone name on a row must not stop delivery: read as UTC.
    night = quiet("22:00", "07:00")
    assert night.quiet_until(utc("2026-06-01 23:00"), "Mars/Olympus") == utc("2026-06-02 07:00")
    with pytest.raises(ValueError, match="aware"):
        night.quiet_until(datetime(2026, 6, 1, 23), "UTC")


def test_default_is_everything_on() -> None:
    prefs = Preferences.of({})
    assert all(all(row.values()) for row in prefs.effective().values())
    assert set(prefs.effective()) == set(categories())
    assert Preferences.of(None).allows("invoice.paid", "email")


def test_off_per_category_and_channel_and_unsubscribe() -> None:
    prefs = Preferences.of(
        {"off": {"invoice.paid": ["email"], "*": ["webhook"], "weekly_insights": ["*"]}}
    )
    assert not prefs.allows("invoice.paid", "email")
    assert prefs.allows("invoice.paid", "in_app")
    assert prefs.allows("invoice.overdue", "email")
    assert not prefs.allows("invoice.overdue", "webhook")  # "*": every category
    assert not prefs.allows("weekly_insights", "in_app")  # in-app can be turned off
    gone = Preferences.of({"unsubscribed": True})
    assert not any(gone.allows(c, "email") for c in categories())
    assert all(gone.allows(c, "in_app") and gone.allows(c, "webhook") for c in categories())


def test_legacy_format_of_simulated_users_is_read_as_meant() -> None:
    legacy = {
        "in_app": True,
        "email": False,
        "weekly_insights": False,
        "muted": ["transactions_synced"],
    }
    prefs = Preferences.of(legacy)
    assert prefs.problems == ()
    assert prefs.allows("invoice.paid", "in_app") and not prefs.allows("invoice.paid", "email")
    assert not any(prefs.allows("weekly_insights", ch) for ch in ("in_app", "email", "webhook"))
    assert not prefs.allows("transactions.synced", "in_app")  # the old name, the new category
    assert Preferences.of({"in_app": False}).allows("invoice.paid", "in_app") is False
    on = Preferences.of({"in_app": True, "email": True, "weekly_insights": True, "muted": []})
    assert all(all(row.values()) for row in on.effective().values())
    # The first change rewrites it in the current format, meaning the same.
    rewritten = prefs.with_change().as_json()
    assert not set(rewritten) & {"in_app", "email", "weekly_insights", "muted"}
    assert Preferences.of(rewritten).effective() == prefs.effective()


@pytest.mark.parametrize(
    ("junk", "reason"),
    [
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours ignored"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours ignored"),
        ({"quiet_hours": "22-7"}, "quiet_hours ignored"),
        ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, "start and end at 08:00"),
        ({"off": {"invoice.paid": "email"}}, "off.invoice.paid ignored"),
        ({"off": ["email"]}, "off ignored"),
        ({"off": {"invoice.paid": ["pigeon"]}}, "unknown channels ignored: ['pigeon']"),
        ({"muted": "everything"}, "muted ignored"),
        ({"unsubscribed": "yes"}, "unsubscribed ignored"),
        (["not", "an", "object"], "not an object"),
    ],
)
def test_junk_is_ignored_with_a_reason(junk, reason) -> None:  # type: ignore[no-untyped-def]
    prefs = Preferences.of(junk)
    assert any(reason in p for p in prefs.problems), prefs.problems
    assert prefs.quiet_until(utc("2026-06-01 23:00"), "UTC") is None
    assert prefs.allows("invoice.overdue", "email")


def test_unknown_keys_are_kept_and_bad_values_are_dropped_on_change() -> None:
    prefs = Preferences.of({"digest_style": "compact", "quiet_hours": {"start": "x"}})
    assert prefs.with_change().as_json() == {"digest_style": "compact"}


def test_changes_off_then_on_carve_exceptions_out_of_wildcards() -> None:
    base = Preferences.of({})
    only_overdue = base.with_change(off=[("*", "email")], on=[("invoice.overdue", "email")])
    email = {c: row["email"] for c, row in only_overdue.effective().items()}
    assert email == {c: c == "invoice.overdue" for c in categories()}
    assert all(row["in_app"] and row["webhook"] for row in only_overdue.effective().values())
    # And back: on for every category removes every e-mail rule.
    assert only_overdue.with_change(on=[("*", "email")]).as_json() == {}
    muted = base.with_change(off=[("invoice.paid", "*")])
    assert muted.as_json() == {"off": {"invoice.paid": ["in_app", "email", "webhook"]}}
    assert muted.with_change(on=[("invoice.paid", "in_app")]).as_json() == {
        "off": {"invoice.paid": ["email", "webhook"]}
    }


def test_quiet_and_subscription_changes_round_trip() -> None:
    prefs = Preferences.of({"unsubscribed": True}).with_change(
        quiet=parse_quiet("22:00-07:00"), subscribed=True
    )
    assert prefs.as_json() == {"quiet_hours": {"start": "22:00", "end": "07:00"}}
    again = Preferences.of(prefs.as_json())
    assert again.quiet == prefs.quiet and again.allows("invoice.paid", "email")
    assert again.with_change(clear_quiet=True).as_json() == {}
    assert again.with_change(subscribed=False).as_json()["unsubscribed"] is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("invoice.paid", "not CATEGORY:CHANNEL"),
        ("invoices:email", "unknown category 'invoices'"),
        ("invoice.paid:sms", "unknown channel 'sms'"),
    ],
)
def test_pairs_name_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pair(text)


def test_pairs_and_quiet_hours_parse() -> None:
    assert parse_pair("*:email") == ("*", "email")
    assert parse_pair("transactions_synced:*") == ("transactions.synced", "*")
    assert str(parse_quiet("22:00-07:00")) == "22:00-07:00"
    for bad in ("22:00", "22-07", "22:00-24:00", "7:00-8:00", "09:00-09:00"):
        with pytest.raises(ValueError):
            parse_quiet(bad)
