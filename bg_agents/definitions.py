"""The one Definitions object of the ``bg_agents`` code location.

Every domain's role files under ``bg_agents/defs/<domain>/`` are discovered from the folder
(``[tool.dg.project]`` in pyproject.toml names it), so adding an agent edits no shared file here.
Only the project-wide resources and the executor are bound here. Loading touches neither the
network nor the database: resources connect when a run starts, the executor when a run executes.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from bg_agents.defs._shared.resources import app_database, llm
from bg_agents.lib.settings import CELERY_RESULT_BACKEND, load_executor_settings


def executor() -> dg.ExecutorDefinition | None:
    """The executor every job uses unless it names its own (``BG_AGENTS_EXECUTOR``).

    None keeps Dagster's default (each step a child process of the run, on its machine).
    ``celery`` sends each step to a Celery worker consuming ``BG_AGENTS_CELERY_QUEUE`` on the
    broker, so one run's steps and many runs spread over machines (deploy/README.md, "Runs on
    Celery"). A configured broker URL reaches Dagster as an env reference, never as text in the
    UI, since it may hold the broker's password.
    """
    settings = load_executor_settings()
    if settings.executor != "celery":
        return None
    from dagster_celery import celery_executor

    broker = (
        {"env": "BG_AGENTS_CELERY_BROKER_URL"}
        if settings.broker_url_configured
        else settings.broker_url
    )
    return celery_executor.configured(
        {
            "broker": broker,
            "backend": CELERY_RESULT_BACKEND,
            # Steps without a dagster-celery/queue tag go here; the workers consume it (-Q).
            "config_source": {"task_default_queue": settings.queue},
        },
        name="celery",
    )


defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
    dg.Definitions(resources={"app_db": app_database(), "llm": llm()}, executor=executor()),
)
