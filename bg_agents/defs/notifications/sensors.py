"""Sensors: a pass of the notification engine each minute something is due.

Light: two indexed read queries per tick (``due.py``), none while a pass is still running (a
slow SMTP server or endpoint then delays the next pass instead of piling runs up in the run
queue). The cursor holds the minute of the last request and the run key names it, so two ticks
in one minute never launch two runs.
"""

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs._shared.sensing import one_pass_a_minute
from bg_agents.defs.notifications.due import due
from bg_agents.defs.notifications.jobs import notifications_job
from bg_agents.lib import clock


@dg.sensor(
    job=notifications_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches notifications_job when a batching window has closed, an unbatched event or a "
        "full digest waits, or an e-mail/webhook delivery is due; at most one run a minute "
        "(run key = the minute) and none while the previous pass still runs."
    ),
)
def notification_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    now = clock.now()

    def why_not() -> str | None:
        work = due(app_db.engine, now)
        return None if work.at(now) else work.describe()

    return one_pass_a_minute(context, notifications_job.name, "notifications", now, why_not)
