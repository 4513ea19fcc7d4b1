"""The enrichment provider's settings: offline unless a URL is set, the key never kept or shown,
bounds on rate and cache days, and a URL that would send the key in clear text refused."""

from __future__ import annotations

import pytest

from bg_agents.lib.settings import SettingsError, load_enrichment_settings

KEY = "sk-live-secret-0123456789"


def test_offline_by_default_with_the_documented_defaults() -> None:
    s = load_enrichment_settings({})
    assert (s.provider, s.base_url, s.api_key(), s.rate, s.cache_days) == (
        "offline", None, None, 5.0, 30,
    )  # fmt: skip


def test_a_url_selects_the_http_provider_and_the_key_is_read_where_used() -> None:
    env = {
        "BG_AGENTS_ENRICHMENT_URL": " https://companies.example.com/v1/ ",
        "BG_AGENTS_ENRICHMENT_API_KEY": KEY,
        "BG_AGENTS_ENRICHMENT_RATE": "2.5",
        "BG_AGENTS_ENRICHMENT_CACHE_DAYS": "7",
    }
    s = load_enrichment_settings(env)
    assert (s.provider, s.base_url, s.rate, s.cache_days) == (
        "http", "https://companies.example.com/v1", 2.5, 7,
    )  # fmt: skip
    assert s.api_key(env) == KEY
    assert KEY not in repr(s)  # only the variable's name is kept


def test_plain_http_is_for_this_machine_only() -> None:
    local = load_enrichment_settings({"BG_AGENTS_ENRICHMENT_URL": "http://127.0.0.1:8099"})
    assert local.base_url == "http://127.0.0.1:8099"
    with pytest.raises(SettingsError, match="unencrypted"):
        load_enrichment_settings({"BG_AGENTS_ENRICHMENT_URL": "http://companies.example.com"})


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BG_AGENTS_ENRICHMENT_URL", "ftp://companies.example.com", "http(s) URL"),
        ("BG_AGENTS_ENRICHMENT_URL", "https://u:pw@companies.example.com", "credentials"),
        ("BG_AGENTS_ENRICHMENT_URL", "https://companies.example.com?key=1", "without query"),
        ("BG_AGENTS_ENRICHMENT_RATE", "0", "greater than 0"),
        ("BG_AGENTS_ENRICHMENT_RATE", "inf", "finite"),
        ("BG_AGENTS_ENRICHMENT_RATE", "fast", "number"),
        ("BG_AGENTS_ENRICHMENT_RATE", "5000", "less than or equal to 1000"),
        ("BG_AGENTS_ENRICHMENT_CACHE_DAYS", "0", "greater than or equal to 1"),
        ("BG_AGENTS_ENRICHMENT_CACHE_DAYS", "99999", "less than or equal to 3650"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_enrichment_settings({name: value, "BG_AGENTS_ENRICHMENT_API_KEY": KEY})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{name}=") and says in problem
    assert KEY not in str(caught.value)
