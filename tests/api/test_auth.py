"""Who may reach what: tokens, workspace membership, roles, run-scoped tokens."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from runs import services
from runs.models import ApiToken
from runs.status import Status
from tests.api.helpers import (
    RUN_OPERATIONS,
    RUN_READS,
    RUN_WRITES,
    WORKSPACE_OPERATIONS,
    assert_error,
    call,
    op_id,
    run_url,
)
from tests.factories import ExperimentFactory, RunFactory


@pytest.fixture
def readable_run(run):
    """A run with a metric and a file, so every read has something to return."""
    services.metric_log_batch(run=run, series=[services.SeriesIn(name="loss", values=[1.0])])
    services.run_file_upload(run=run, path="notes.txt", content=ContentFile(b"hello"))
    return run


ALL = [("run", *op) for op in RUN_OPERATIONS] + [("ws", *op) for op in WORKSPACE_OPERATIONS]


def _path(kind: str, suffix: str, run) -> str:
    return run_url(run, suffix) if kind == "run" else f"/api/w/{run.workspace.slug}{suffix}"


@pytest.mark.parametrize("op", ALL, ids=lambda op: f"{op[0]} {op_id(op[1:])}")
def test_missing_token_gets_401(readable_run, op):
    kind, method, suffix, body = op
    response = call(Client(), method, _path(kind, suffix, readable_run), body)
    assert_error(response, 401, "Unauthorized", "Authorization: Bearer")
    assert response["WWW-Authenticate"] == 'Bearer realm="studio"'


@pytest.mark.parametrize(
    "header",
    [
        "Bearer rhs_not-a-real-token",
        "Bearer ",
        "Token rhs_whatever",
        "Basic dXNlcjpwYXNz",
        "Bearer " + "x" * 500,
        "rhs_no-scheme",
    ],
)
def test_bad_token_gets_401(workspace, header):
    response = Client(HTTP_AUTHORIZATION=header).get("/api/workspaces")
    assert_error(response, 401, "Unauthorized")
    assert response["WWW-Authenticate"].startswith('Bearer realm="studio"')


def test_revoked_token_gets_401(api_client):
    services.token_revoke(token=ApiToken.objects.get(user=api_client.user))
    response = api_client.get("/api/workspaces")
    assert_error(response, 401, "Unauthorized", "was revoked on")
    assert response["WWW-Authenticate"] == 'Bearer realm="studio", error="invalid_token"'


def test_inactive_user_gets_401(api_client):
    api_client.user.is_active = False
    api_client.user.save()
    assert_error(api_client.get("/api/workspaces"), 401, "Unauthorized")


def test_scheme_is_case_insensitive(api_client):
    client = Client(HTTP_AUTHORIZATION=f"bearer {api_client.token}")
    assert client.get("/api/workspaces").status_code == 200


def test_token_use_is_recorded(api_client):
    api_client.get("/api/workspaces")
    assert ApiToken.objects.get(user=api_client.user).last_used is not None


@pytest.mark.parametrize("op", ALL, ids=lambda op: f"{op[0]} {op_id(op[1:])}")
def test_outsider_gets_404_for_everything(outsider_api, readable_run, op):
    kind, method, suffix, body = op
    response = call(outsider_api, method, _path(kind, suffix, readable_run), body)
    error = assert_error(response, 404, "NotFound", "'team' not found")
    assert readable_run.id not in error["message"]


@pytest.mark.parametrize("op", RUN_OPERATIONS, ids=op_id)
def test_run_of_another_workspace_is_404(api_client, workspace, other_workspace, op):
    method, suffix, body = op
    # The run exists, in `elsewhere`; asked for through `team` it does not.
    response = call(api_client, method, f"/api/w/team/runs/secret_1_00000000{suffix}", body)
    assert_error(response, 404, "NotFound", "secret_1_00000000")


@pytest.mark.parametrize("op", RUN_OPERATIONS, ids=op_id)
def test_unknown_run_is_404(api_client, workspace, op):
    method, suffix, body = op
    response = call(api_client, method, f"/api/w/team/runs/nope_1_00000000{suffix}", body)
    assert_error(response, 404, "NotFound", "'nope_1_00000000' not found")


@pytest.mark.parametrize("op", WORKSPACE_OPERATIONS, ids=op_id)
def test_unknown_workspace_is_404(api_client, op):
    method, suffix, body = op
    response = call(api_client, method, f"/api/w/nowhere{suffix}", body)
    assert_error(response, 404, "NotFound", "'nowhere' not found")


@pytest.mark.parametrize("op", RUN_READS, ids=op_id)
def test_reader_can_read(reader_api, readable_run, op):
    method, suffix, body = op
    assert call(reader_api, method, run_url(readable_run, suffix), body).status_code == 200


@pytest.mark.parametrize("op", RUN_WRITES, ids=op_id)
def test_reader_cannot_write_a_run(reader_api, readable_run, op):
    method, suffix, body = op
    response = call(reader_api, method, run_url(readable_run, suffix), body)
    assert_error(response, 403, "Forbidden", "reader", "contributor or owner")
    readable_run.refresh_from_db()
    assert readable_run.status == Status.RUNNING
    assert readable_run.display_name != "renamed"


@pytest.mark.parametrize("op", [op for op in WORKSPACE_OPERATIONS if op[0] == "post"], ids=op_id)
def test_reader_cannot_create(reader_api, workspace, op):
    method, suffix, body = op
    response = call(reader_api, method, f"/api/w/team{suffix}", body)
    assert_error(response, 403, "Forbidden", "reader")


@pytest.mark.parametrize("op", RUN_WRITES, ids=op_id)
def test_owner_can_write(owner_api, readable_run, op):
    method, suffix, body = op
    response = call(owner_api, method, run_url(readable_run, suffix), body)
    assert response.status_code in (200, 201), response.content


def test_no_csrf_token_is_needed(api_client, run):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {api_client.token}")
    response = client.post(run_url(run, "/heartbeat"), {}, content_type="application/json")
    assert response.status_code == 200


def test_a_session_cookie_is_not_a_token(reader_client, run):
    # Logged in to the studio, but no bearer token: the API does not accept cookies.
    assert_error(reader_client.get(run_url(run)), 401, "Unauthorized")


# ---- run-scoped tokens ---------------------------------------------------------------


@pytest.fixture
def child(run):
    return RunFactory(experiment=run.experiment, parent=run)


@pytest.fixture
def sibling(run):
    return RunFactory(experiment=run.experiment)


@pytest.mark.parametrize("op", RUN_OPERATIONS, ids=op_id)
def test_scoped_token_reaches_its_run(scoped_api, readable_run, op):
    method, suffix, body = op
    response = call(scoped_api, method, run_url(readable_run, suffix), body)
    assert response.status_code in (200, 201), response.content


@pytest.mark.parametrize("op", RUN_OPERATIONS, ids=op_id)
def test_scoped_token_reaches_descendants(scoped_api, child, op):
    method, suffix, body = op
    services.metric_log_batch(run=child, series=[services.SeriesIn(name="loss", values=[1.0])])
    services.run_file_upload(run=child, path="notes.txt", content=ContentFile(b"hello"))
    grandchild = RunFactory(experiment=child.experiment, parent=child)
    for target in (child, grandchild):
        if target is grandchild and suffix in (
            "/metrics/series?name=loss",
            "/files/content?name=notes.txt",
        ):
            continue
        response = call(scoped_api, method, run_url(target, suffix), body)
        assert response.status_code in (200, 201), response.content


@pytest.mark.parametrize("op", RUN_OPERATIONS, ids=op_id)
def test_scoped_token_gets_404_for_other_runs(scoped_api, run, sibling, op):
    method, suffix, body = op
    response = call(scoped_api, method, run_url(sibling, suffix), body)
    assert_error(response, 404, "NotFound", sibling.id)


def test_scoped_token_does_not_reach_a_run_sharing_its_id_prefix(scoped_api, run):
    # `<run>9` is not a descendant of `<run>`: only `<run>_<n>` ids are.
    lookalike = RunFactory(experiment=run.experiment, id=f"{run.id}9")
    assert_error(scoped_api.get(run_url(lookalike)), 404, "NotFound")


def test_scoped_token_does_not_reach_the_parent(api_user, run, child, make_api_client):
    client = make_api_client(api_user, run=child)
    assert_error(client.get(run_url(run)), 404, "NotFound")
    assert client.get(run_url(child)).status_code == 200


@pytest.mark.parametrize(
    ("suffix", "body"),
    [("/runs", {"experiment": "mnist"}), ("/experiments", {"name": "other"})],
)
def test_scoped_token_cannot_create_outside_its_run(scoped_api, run, suffix, body):
    response = scoped_api.post_json(f"/api/w/team{suffix}", body)
    assert_error(response, 403, "Forbidden", f"limited to run {run.id}")


def test_scoped_token_lists_only_its_tree(scoped_api, run, child, sibling):
    body = scoped_api.get("/api/w/team/runs?includeChildren=true").json()
    assert {r["runId"] for r in body["runs"]} == {run.id, child.id}
    assert body["total"] == 2
    assert scoped_api.get("/api/w/team/runs").json()["total"] == 1


def test_scoped_token_lists_only_its_experiment(scoped_api, run, workspace):
    RunFactory(experiment=ExperimentFactory(workspace=workspace, name="other"))
    names = [e["name"] for e in scoped_api.get("/api/w/team/experiments").json()["experiments"]]
    assert names == ["mnist"]


def test_scoped_token_sees_only_its_workspace(scoped_api, api_user, run):
    from tests.factories import MembershipFactory, WorkspaceFactory

    MembershipFactory(workspace=WorkspaceFactory(slug="also"), user=api_user, role="owner")
    body = scoped_api.get("/api/workspaces").json()
    assert body == {"workspaces": [{"name": "team", "role": "contributor"}]}
    assert_error(scoped_api.get("/api/w/also/runs"), 404, "NotFound")
    assert_error(scoped_api.get("/api/w/also/experiments"), 404, "NotFound")


def test_scoped_token_of_a_former_member_gets_404(scoped_api, api_user, run, workspace):
    workspace.memberships.filter(user=api_user).delete()
    assert_error(scoped_api.get(run_url(run)), 404, "NotFound")
