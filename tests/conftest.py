"""Shared fixtures: a workspace, clients for each role, an API client with a token."""

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.db import connection
from django.test import Client

from runs import services
from runs.models import Role
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

# The live server (SDK and browser tests) sends responses at once, as `make run`'s does
# (runs/management/commands/runserver.py): no 40 ms delayed-ACK stall a request.
WSGIRequestHandler.disable_nagle_algorithm = True


@pytest.fixture(autouse=True)
def _fast_hasher_and_media(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(slug="team")


def _member_client(workspace, role: str, username: str) -> Client:
    user = UserFactory(username=username)
    MembershipFactory(workspace=workspace, user=user, role=role)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def reader_client(workspace):
    return _member_client(workspace, Role.READER, "reader")


@pytest.fixture
def contributor_client(workspace):
    return _member_client(workspace, Role.CONTRIBUTOR, "contributor")


@pytest.fixture
def owner_client(workspace):
    return _member_client(workspace, Role.OWNER, "owner")


@pytest.fixture
def outsider_client(db):
    user = UserFactory(username="outsider")
    WorkspaceFactory(slug="elsewhere")
    client = Client()
    client.force_login(user)
    client.user = user
    return client


class ApiClient(Client):
    """A test client that sends a bearer token and JSON bodies."""

    def __init__(self, token: str, user, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)
        self.token = token
        self.user = user

    def _json(self, method, path, data=None, **kwargs):
        kwargs.setdefault("content_type", "application/json")
        return getattr(super(), method)(path, data if data is not None else {}, **kwargs)

    def post_json(self, path, data=None, **kwargs):
        return self._json("post", path, data, **kwargs)

    def patch_json(self, path, data=None, **kwargs):
        return self._json("patch", path, data, **kwargs)


@pytest.fixture
def api_user(workspace):
    user = UserFactory(username="sdk")
    MembershipFactory(workspace=workspace, user=user, role=Role.CONTRIBUTOR)
    return user


@pytest.fixture
def api_client(api_user):
    _, secret = services.token_create(user=api_user, name="tests")
    return ApiClient(secret, api_user)


@pytest.fixture
def planner_statistics_restored(db):
    """For tests that refresh SQLite's planner statistics (ANALYZE: the bulk loads of
    seed_demo and import_mlflow, runs.services.maintenance): they are left as found.

    ANALYZE inside a test's transaction is rolled back in the table, but the connection
    keeps the statistics it loaded; the next test on it would plan with them.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        exists = cursor.fetchone() is not None
        saved = (
            cursor.execute("SELECT tbl, idx, stat FROM sqlite_stat1").fetchall() if exists else []
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is not None:
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.executemany(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, %s, %s)", saved
            )
        cursor.execute("ANALYZE sqlite_schema")  # reloads the statistics into the connection
