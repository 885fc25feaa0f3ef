"""SDK unit-test fixtures: a fake studio (tests/sdk/fake.py) served in a thread, quick timers.

End-to-end tests against the real API (pytest-django's `live_server`) live in
tests/sdk/live/, with their own fixtures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runs.sdk import Backoff, SenderOptions, Workspace
from runs.sdk import heartbeat as sdk_heartbeat
from runs.sdk import run_lifecycle as sdk_lifecycle
from tests.sdk.fake import FakeServer, FakeStudio

# Retries in milliseconds: tests wait on results, not on timers.
QUICK = Backoff(base=0.001, cap=0.01)


def quick_options(**options: Any) -> SenderOptions:
    """Sender options that send at once and retry quickly; keywords override."""
    return SenderOptions(**{"flush_interval": 0.01, "backoff": QUICK, **options})


def wait_for(check: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def fake(fake_server) -> FakeStudio:
    return fake_server.studio


@pytest.fixture
def fake_ws(fake_server) -> Workspace:
    return Workspace(fake_server.url, "t", "team", options=quick_options(), backoff=QUICK)


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test() -> Iterator[None]:
    """Runs heartbeat from a process-wide thread: none may outlive its test and its server."""
    yield
    for run in list(sdk_heartbeat.heartbeater._due):
        sdk_heartbeat.heartbeater.remove(run)
    sdk_lifecycle._interrupted_roots.clear()
