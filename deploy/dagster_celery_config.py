"""Celery settings of a bg-agents worker, read from the same variables as the runs that send it
steps (``BG_AGENTS_CELERY_*``, validated in ``bg_agents.lib.settings``).

dagster-celery's worker app (``celery -A dagster_celery.app worker``) loads a module of this
name when it is importable, so a worker needs only this folder on ``PYTHONPATH`` and the
variables set; the broker's password stays in the environment, not on the command line. The
queue is still named on the command line (``-Q "$BG_AGENTS_CELERY_QUEUE"``): dagster-celery's app
declares only its ``dagster`` queue, and ``-Q`` is what makes a worker consume another.
See deploy/README.md, "Runs on Celery".
"""

from bg_agents.lib.settings import CELERY_RESULT_BACKEND, load_executor_settings

_settings = load_executor_settings()

broker_url = _settings.broker_url
result_backend = CELERY_RESULT_BACKEND
task_default_queue = _settings.queue
# One step at a time per worker process, none reserved ahead: a long step (a backfill's
# insights) must not hold a second step back while another worker sits idle.
worker_prefetch_multiplier = 1
