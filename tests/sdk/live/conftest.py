"""End-to-end SDK fixtures: a live studio (pytest-django's `live_server`), a member's token.

These tests talk HTTP to `live_server`: a threaded server in this process, on
the test database (hence `transactional_db`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from runs import services
from runs.models import Role
from runs.sdk import Workspace
from runs.sdk.heartbeat import heartbeater
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.sdk.conftest import QUICK, quick_options


@pytest.fixture
def studio(live_server, transactional_db) -> str:
    """The live studio's base URL."""
    return live_server.url


@pytest.fixture
def team(transactional_db):
    return WorkspaceFactory(slug="team")


@pytest.fixture
def member(team):
    user = UserFactory(username="trainer")
    MembershipFactory(workspace=team, user=user, role=Role.CONTRIBUTOR)
    return user


@pytest.fixture
def token(member) -> str:
    _, secret = services.token_create(user=member, name="sdk tests")
    return secret


@pytest.fixture
def colleague_token(team) -> str:
    """The token of another contributor of the workspace (who cancels runs, say)."""
    user = UserFactory(username="colleague")
    MembershipFactory(workspace=team, user=user, role=Role.CONTRIBUTOR)
    _, secret = services.token_create(user=user, name="colleague")
    return secret


@pytest.fixture
def ws(studio, token) -> Iterator[Workspace]:
    """The workspace through the SDK; runs still heartbeating stop before the studio does."""
    yield Workspace(
        url=studio,
        token=token,
        name="team",
        options=quick_options(flush_interval=0.05),
        backoff=QUICK,
        heartbeat_interval=0.2,
    )
    for run in list(heartbeater._due):
        heartbeater.remove(run)


@pytest.fixture
def studio_env(monkeypatch, tmp_path, studio, token) -> Callable[..., None]:
    """Work in an empty folder with no STUDIO_* set; `studio_env()` then points them at the
    live studio (keywords add or override variables)."""
    monkeypatch.chdir(tmp_path)
    for var in ("STUDIO_URL", "STUDIO_TOKEN", "STUDIO_WORKSPACE", "STUDIO_RUN_ID"):
        monkeypatch.delenv(var, raising=False)

    def _set(**extra: str) -> None:
        values = {"STUDIO_URL": studio, "STUDIO_TOKEN": token, "STUDIO_WORKSPACE": "team"}
        for key, value in {**values, **extra}.items():
            monkeypatch.setenv(key, value)

    return _set
