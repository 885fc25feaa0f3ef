"""The tests here refresh SQLite's planner statistics: each leaves them as it found
them (tests/conftest.py, planner_statistics_restored)."""

import pytest


@pytest.fixture(autouse=True)
def _planner_statistics_restored(planner_statistics_restored):
    return
