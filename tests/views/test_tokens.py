"""The API tokens page: create (the secret shown once), use, expire, revoke; owners see
and revoke everyone's tokens of the workspace."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from runs import services
from runs.models import ApiToken, Role
from tests.factories import MembershipFactory, RunFactory, WorkspaceFactory

URL = reverse("runs:tokens", args=["team"])
REVOKE = reverse("runs:token-revoke", args=["team"])


def secret_in(html: str) -> str:
    return re.search(r'value="(rhs_[^"]+)"', html).group(1)


def api(secret: str, path: str = "/api/w/team/experiments"):
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(path)


def test_create_use_and_revoke_a_token(contributor_client, workspace):
    response = contributor_client.post(URL, {"name": "laptop"})
    assert response.status_code == 201
    assert response["Cache-Control"].startswith("max-age=0")
    html = response.content.decode()
    secret = secret_in(html)
    assert "it is not shown again" in html
    token = ApiToken.objects.get()
    assert (token.name, token.user, token.workspace) == (
        "laptop",
        contributor_client.user,
        workspace,
    )
    assert token.token_hash != secret
    assert secret not in contributor_client.get(URL).content.decode()  # shown once

    assert api(secret).status_code == 200
    listed = contributor_client.get(URL).content.decode()
    assert token.prefix in listed
    assert "never" in listed  # never expires

    response = contributor_client.post(REVOKE, {"token_id": token.pk})
    assert response.status_code == 302
    refused = api(secret)
    assert refused.status_code == 401
    assert "was revoked on" in refused.json()["error"]["message"]
    assert "revoked" in contributor_client.get(URL).content.decode()


def test_a_token_expires(contributor_client, workspace):
    tomorrow = (timezone.now() + timedelta(days=1)).date()
    response = contributor_client.post(URL, {"name": "ci", "expires": tomorrow.isoformat()})
    secret = secret_in(response.content.decode())
    assert api(secret).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        refused = api(secret)
        assert refused.status_code == 401
        assert "expired on" in refused.json()["error"]["message"]
        assert "expired" in contributor_client.get(URL).content.decode()


def test_a_page_token_reaches_only_its_workspace(contributor_client, workspace):
    other = WorkspaceFactory(slug="other")
    MembershipFactory(workspace=other, user=contributor_client.user, role=Role.OWNER)
    secret = secret_in(contributor_client.post(URL, {"name": "x"}).content.decode())
    assert api(secret, "/api/w/other/experiments").status_code == 404
    names = [w["name"] for w in api(secret, "/api/workspaces").json()["workspaces"]]
    assert names == ["team"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Give the token a name"),
        ({"name": "   "}, "Give the token a name"),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "a\x07b"}, "control character"),
        ({"name": "ok", "expires": "tomorrow"}, "should look like 2026-12-31"),
        ({"name": "ok", "expires": "2001-01-01"}, "must be after today"),
        ({"name": "ok", "expires": "2999-01-01"}, "within ten years"),
    ],
)
def test_bad_token_requests_get_a_message(reader_client, workspace, data, message):
    response = reader_client.post(URL, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("data", "status"),
    [({}, 400), ({"token_id": "x"}, 400), ({"token_id": 999_999}, 404)],
)
def test_bad_revoke_requests_get_a_message(reader_client, workspace, data, status):
    assert reader_client.post(REVOKE, data).status_code == status


def test_owners_see_and_revoke_everyones_tokens(owner_client, reader_client, workspace):
    theirs, secret = services.token_create(
        user=reader_client.user, name="readers-token", workspace=workspace
    )
    mine, _ = services.token_create(
        user=owner_client.user, name="owners-token", workspace=workspace
    )
    # Tokens of other workspaces, and run-scoped ones, are not this page's.
    services.token_create(
        user=reader_client.user, name="elsewhere-token", workspace=WorkspaceFactory()
    )
    run = RunFactory(experiment__workspace=workspace)
    services.token_create(user=reader_client.user, name="scripted-run-token", run=run)

    owners = owner_client.get(URL).content.decode()
    assert "readers-token" in owners
    assert "owners-token" in owners
    assert "elsewhere-token" not in owners
    assert "scripted-run-token" not in owners
    readers = reader_client.get(URL).content.decode()
    assert f"token-{theirs.pk}" in readers
    assert f"token-{mine.pk}" not in readers

    assert reader_client.post(REVOKE, {"token_id": mine.pk}).status_code == 404
    assert owner_client.post(REVOKE, {"token_id": theirs.pk}).status_code == 302
    theirs.refresh_from_db()
    assert theirs.revoked_by == owner_client.user
    assert api(secret).status_code == 401


def test_a_members_older_all_workspace_tokens_are_theirs_to_see(reader_client, owner_client):
    legacy, _ = services.token_create(user=reader_client.user, name="legacy-token")
    assert "legacy-token" in reader_client.get(URL).content.decode()
    assert "all your workspaces" in reader_client.get(URL).content.decode()
    assert "legacy-token" not in owner_client.get(URL).content.decode()


def test_outsiders_get_404(outsider_client, workspace):
    assert outsider_client.get(URL).status_code == 404
    assert outsider_client.post(URL, {"name": "x"}).status_code == 404
    assert not ApiToken.objects.exists()


def test_token_writes_need_the_csrf_token(reader_client, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader_client.user)
    assert client.post(URL, {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()
