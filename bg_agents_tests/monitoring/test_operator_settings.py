"""The operator settings: addresses parsed once each, mistakes named, a webhook URL never shown."""

import pytest

from bg_agents.lib.settings import SettingsError, load_operator_settings, read_environment


def test_addresses_are_bare_lowercase_and_listed_once() -> None:
    settings = load_operator_settings(
        {
            "BG_AGENTS_OPERATOR_EMAILS": "Ops@Example.com,Oncall <oncall@example.com>,"
            "ops@example.com",
            "BG_AGENTS_DAGSTER_URL": "https://dagster.example.com/",
        }
    )
    assert settings.emails == ("ops@example.com", "oncall@example.com")
    assert settings.dagster_url == "https://dagster.example.com"
    assert (settings.escalate_after, settings.configured) == (3, True)
    assert not load_operator_settings({}).configured, "nobody to tell: alerts off"


def test_each_bad_value_is_named_and_the_webhook_url_is_not_repeated() -> None:
    secret_url = "ftp://hooks.example.com/T000/B000/s3cr3t"
    with pytest.raises(SettingsError) as caught:
        read_environment(
            {
                "BG_AGENTS_OPERATOR_EMAILS": "ops@example.com, not-an-address",
                "BG_AGENTS_OPERATOR_WEBHOOK_URL": secret_url,
                "BG_AGENTS_OPERATOR_WEBHOOK_SLACK": "maybe",
                "BG_AGENTS_DAGSTER_URL": "localhost:3000",
                "BG_AGENTS_ALERT_ESCALATE_AFTER": "0",
            }
        )
    problems = caught.value.problems
    assert [p.split("=")[0].split(":")[0] for p in problems] == [
        "BG_AGENTS_OPERATOR_EMAILS",
        "BG_AGENTS_OPERATOR_WEBHOOK_URL",
        "BG_AGENTS_OPERATOR_WEBHOOK_SLACK",
        "BG_AGENTS_DAGSTER_URL",
        "BG_AGENTS_ALERT_ESCALATE_AFTER",
    ]
    assert "'not-an-address' is not an e-mail address" in problems[0]
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://hooks.example.com/" + "x" * 2100, "at most 2,048"),
        ("https://user:pw@hooks.example.com/x", "must not carry credentials"),
        ("https://hooks.example.com:0/x", "port must be 1-65535"),
    ],
)
def test_the_operator_webhook_is_checked_like_a_team_endpoint(url: str, said: str) -> None:
    """One check for both: a URL too long for the endpoints' column would fail every alert."""
    with pytest.raises(SettingsError) as caught:
        read_environment({"BG_AGENTS_OPERATOR_WEBHOOK_URL": url})
    assert said in str(caught.value) and "pw@" not in str(caught.value)
