"""Booking days are fetched from the hour they end in the first time zone until a day after they
end in the last one."""

from datetime import UTC, date, datetime

from bg_agents.defs.ingestion.timing import days_to_ingest


def test_a_day_is_fetched_from_its_end_at_utc_plus_14_to_a_day_after_utc_minus_12() -> None:
    sunday = date(2026, 11, 22)
    assert sunday not in days_to_ingest(datetime(2026, 11, 22, 9, 59, tzinfo=UTC))
    assert sunday in days_to_ingest(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    assert sunday in days_to_ingest(datetime(2026, 11, 24, 11, 59, tzinfo=UTC))
    assert sunday not in days_to_ingest(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))


def test_every_hour_fetches_two_or_three_days() -> None:
    for hour in range(24):
        days = days_to_ingest(datetime(2026, 11, 25, hour, 5, tzinfo=UTC))
        assert 2 <= len(days) <= 3 and days == sorted(days)
