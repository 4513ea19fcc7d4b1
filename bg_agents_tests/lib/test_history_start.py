"""The history start follows the data: the demo records its first week in the home folder, every
process sharing the home reads it, and BG_AGENTS_HISTORY_START (a deployment's) always wins."""

from datetime import date
from pathlib import Path

import pytest

from bg_agents.lib.settings import SettingsError, load_settings, record_history_start


def test_a_recorded_start_is_read_moves_only_earlier_and_the_variable_wins(tmp_path: Path) -> None:
    env = {"BG_AGENTS_HOME": str(tmp_path)}
    assert load_settings(env).history_start == date(2025, 1, 1)  # nothing recorded: the default
    assert record_history_start(tmp_path, date(2026, 10, 5)) == date(2026, 10, 5)
    assert load_settings(env).history_start == date(2026, 10, 5)
    # A later demo run (a week on) keeps the weeks an earlier one filled visible.
    assert record_history_start(tmp_path, date(2026, 10, 12)) == date(2026, 10, 5)
    assert record_history_start(tmp_path, date(2026, 9, 28)) == date(2026, 9, 28)
    assert load_settings(env).history_start == date(2026, 9, 28)
    explicit = {**env, "BG_AGENTS_HISTORY_START": "2024-01-01"}
    assert load_settings(explicit).history_start == date(2024, 1, 1)


def test_a_damaged_record_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "history_start").write_text("last monday\n")
    with pytest.raises(SettingsError, match="history_start holds 'last monday'"):
        load_settings({"BG_AGENTS_HOME": str(tmp_path)})
