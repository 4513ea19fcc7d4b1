"""Asset checks on ``notifications``: one digest per window, events carried once, one delivery
per recipient. One step for the three (a run every minute should not pay three)."""

from collections.abc import Iterator

import dagster as dg

from bg_agents.defs._shared.metadata import check_result
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.notifications import quality

CHECKS = {
    "one_message_per_window": (
        quality.one_message_per_window,
        "No (team, addressee, batch key, window, part) has two digests, among the newest messages.",
    ),
    "events_match_messages": (
        quality.events_match_messages,
        "Each of the newest messages carries exactly as many events as it counts: no event "
        "sent twice or lost.",
    ),
    "one_delivery_per_recipient": (
        quality.one_delivery_per_recipient,
        "No message reaches one member or endpoint twice on one channel, among the newest "
        "deliveries.",
    ),
}


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset="notifications", description=description)
        for name, (_, description) in CHECKS.items()
    ]
)
def notification_checks(app_db: AppDatabase) -> Iterator[dg.AssetCheckResult]:
    with app_db.engine.connect() as conn:
        for name, (check, _) in CHECKS.items():
            yield check_result(name, check(conn))
