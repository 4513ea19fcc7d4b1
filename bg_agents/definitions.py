"""The one Definitions object of the ``bg_agents`` code location.

Every domain's role files under ``bg_agents/defs/<domain>/`` are discovered from the folder
(``[tool.dg.project]`` in pyproject.toml names it), so adding an agent edits no shared file here.
Only the project-wide resources are bound here. Loading touches neither the network nor the
database: resources connect when a run starts.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from bg_agents.defs._shared.resources import app_database, llm

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
    dg.Definitions(resources={"app_db": app_database(), "llm": llm()}),
)
