"""Where runs' steps execute: Dagster's default on one machine unless BG_AGENTS_EXECUTOR says
celery, with the broker and queue validated like every other setting (bg_agents_tests/
test_celery.py runs the real thing)."""

from __future__ import annotations

import pytest

from bg_agents.definitions import executor
from bg_agents.lib.settings import SettingsError, load_executor_settings

PASSWORD = "s3cret-broker-pw"


def test_one_machine_by_default_and_celery_on_the_local_rabbitmq() -> None:
    settings = load_executor_settings({})
    assert settings.executor == "multiprocess"
    assert settings.broker_url == "pyamqp://guest@127.0.0.1:5672//"
    assert not settings.broker_url_configured
    assert settings.queue == "dagster"
    chosen = load_executor_settings(
        {
            "BG_AGENTS_EXECUTOR": "Celery",
            "BG_AGENTS_CELERY_BROKER_URL": f"amqps://bg:{PASSWORD}@mq.example.com:5671//",
            "BG_AGENTS_CELERY_QUEUE": "bg-agents.prod",
        }
    )
    assert (chosen.executor, chosen.queue) == ("celery", "bg-agents.prod")
    assert chosen.broker_url_configured
    assert PASSWORD not in repr(chosen)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BG_AGENTS_EXECUTOR", "kubernetes", "must be one of multiprocess, celery"),
        ("BG_AGENTS_CELERY_BROKER_URL", f"amqq://bg:{PASSWORD}@mq//", "no Celery transport"),
        ("BG_AGENTS_CELERY_BROKER_URL", f"pyamqp://bg:{PASSWORD}@mq //", "without spaces"),
        ("BG_AGENTS_CELERY_BROKER_URL", "127.0.0.1:5672", "must be a broker URL"),
        ("BG_AGENTS_CELERY_QUEUE", "amq.steps", "not starting with 'amq.'"),
        ("BG_AGENTS_CELERY_QUEUE", "my steps", "letters, digits"),
    ],
)
def test_a_bad_value_is_one_line_naming_it_without_the_password(
    name: str, value: str, says: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_executor_settings({name: value})
    (problem,) = caught.value.problems
    assert problem.startswith(f"{name}=")
    assert says in problem
    assert PASSWORD not in problem


def test_the_code_location_uses_the_executor_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BG_AGENTS_EXECUTOR", raising=False)
    assert executor() is None  # Dagster's default executor
    monkeypatch.setenv("BG_AGENTS_EXECUTOR", "celery")
    chosen = executor()
    assert chosen is not None and chosen.name == "celery"
