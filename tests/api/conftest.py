"""API fixtures: clients for each role and for run-scoped tokens, a run to act on."""

import pytest

from runs import services
from runs.models import Role
from tests.conftest import ApiClient
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    RunFactory,
    UserFactory,
    WorkspaceFactory,
)


def _api_client(user, run=None) -> ApiClient:
    _, secret = services.token_create(user=user, name="tests", run=run)
    return ApiClient(secret, user)


@pytest.fixture
def experiment(workspace):
    return ExperimentFactory(workspace=workspace, name="mnist")


@pytest.fixture
def run(experiment):
    return RunFactory(experiment=experiment)


@pytest.fixture
def reader_api(workspace):
    user = UserFactory(username="api-reader")
    MembershipFactory(workspace=workspace, user=user, role=Role.READER)
    return _api_client(user)


@pytest.fixture
def owner_api(workspace):
    user = UserFactory(username="api-owner")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    return _api_client(user)


@pytest.fixture
def other_workspace(db):
    """A workspace the `api_client` user is not a member of, with a run."""
    ws = WorkspaceFactory(slug="elsewhere")
    RunFactory(experiment=ExperimentFactory(workspace=ws, name="secret"), id="secret_1_00000000")
    return ws


@pytest.fixture
def outsider_api(db, other_workspace):
    """A user who belongs only to `elsewhere`."""
    user = UserFactory(username="api-outsider")
    MembershipFactory(workspace=other_workspace, user=user, role=Role.OWNER)
    return _api_client(user)


@pytest.fixture
def scoped_api(api_user, run):
    """A token limited to `run` and its descendants, as handed to a submitted script."""
    return _api_client(api_user, run=run)


@pytest.fixture
def make_api_client():
    return _api_client
