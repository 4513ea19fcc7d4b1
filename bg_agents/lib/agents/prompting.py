"""Prompts as configuration: one Markdown file per agent in its domain's ``prompts/`` folder.

Instructions and data never mix: a prompt file holds only instructions with ``$placeholders`` for
trusted values (team name, currency, dates); anything that comes from users' data (descriptions,
vendor names, memos) is passed separately in a delimited ``<data>`` block, and every prompt tells
the model that such content is data to describe, never instructions to follow.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from string import Template
from typing import Any


@functools.cache
def _template(package: str, name: str) -> Template:
    # Read once per process: a slot of 10,000 teams renders the same file 10,000 times.
    try:
        path = resources.files(package).joinpath("prompts", f"{name}.md")
        return Template(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no prompt file {package}/prompts/{name}.md") from None


def load_prompt(package: str, name: str, **values: str) -> str:
    """Agent ``name``'s instructions, ``$placeholders`` filled (a missing one raises).

    The prompt lives in the ``prompts/`` folder of the agent's own domain: callers pass their
    ``__package__``.
    """
    return _template(package, name).substitute(values)


def data_block(name: str, payload: Any) -> str:
    """Untrusted content as a delimited JSON block; closing tags inside it are neutralized."""
    body = json.dumps(payload, ensure_ascii=False, indent=1, default=str)
    body = body.replace("</data", "<\\/data")
    return f'<data name="{name}">\n{body}\n</data>'
