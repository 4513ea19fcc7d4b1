"""Dagster helpers several domains share: resources, the partitions (the one time axis), sensor
helpers and metadata. Only role files import them.

Every process that loads the code location (the code server, the daemon's, each run) imports
this package first, so the one warning filter the location needs lives here: Dagster 1.13 copies
each sensor when resources are bound and passes its ``owners`` to its own beta-flagged
parameter, printing a BetaWarning per sensor on every load (hundreds of lines in the daemon
log) that no user can act on. Only that message is silenced; any other BetaWarning still shows.
"""

import warnings

warnings.filterwarnings(
    "ignore",
    message=r"Parameter `owners` of initializer `SensorDefinition.__init__` is currently in beta",
)
