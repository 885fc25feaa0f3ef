"""The saved views API: list, create, read, change, delete, restore, and a view's runs."""

from __future__ import annotations

import pytest
from django.utils import timezone

from runs.models import LatestMetric, SavedView
from runs.status import Status
from tests.api.helpers import assert_error
from tests.factories import ExperimentFactory, RunFactory

BASE = "/api/w/team/views"


@pytest.fixture
def runs(workspace):
    mnist = ExperimentFactory(workspace=workspace, name="mnist")
    cifar = ExperimentFactory(workspace=workspace, name="cifar")
    out = []
    for i, (exp, status) in enumerate(
        [(mnist, Status.FAILED), (mnist, Status.COMPLETED), (cifar, Status.FAILED)]
    ):
        run = RunFactory(experiment=exp, status=status)
        LatestMetric.objects.create(
            run=run, name="acc", value=0.9 - i / 10, step=1, time=timezone.now(), count=1
        )
        out.append(run)
    child = RunFactory(experiment=mnist, parent=out[1], status=Status.FAILED)
    out.append(child)
    return out


def create(client, **body):
    body.setdefault("name", "failures")
    return client.post_json(BASE, body)


def test_create_normalises_and_reads_back(api_client):
    response = create(
        api_client,
        state={"status": ["Failed", "Canceled"], "page": "4", "sort": "-created", "q": " a  b "},
        charts=[{"type": "line", "metric": "loss", "logY": False}],
    )
    assert response.status_code == 201, response.content
    doc = response.json()
    assert doc["name"] == "failures"
    assert doc["visibility"] == "private"
    assert doc["owner"] == "sdk"
    assert doc["updatedBy"] == "sdk"
    assert doc["version"] == 1
    assert doc["state"] == {"q": "a b", "status": ["Canceled", "Failed"]}
    assert doc["charts"] == [{"type": "line", "metric": "loss"}]
    assert doc["isDefault"] is False
    assert doc["url"].endswith(f"/w/team/views/{doc['id']}/")
    assert doc["createdUtc"].endswith("Z")
    assert api_client.get(f"{BASE}/{doc['id']}").json() == doc


def test_list_is_mine_first_then_shared_and_filters_by_name(api_client, reader_api, owner_api):
    create(owner_api, name="board", visibility="workspace")
    create(owner_api, name="owner's private")
    create(api_client, name="board")
    create(api_client, name="zeta")
    names = [(v["name"], v["owner"]) for v in api_client.get(BASE).json()["views"]]
    assert names == [("board", "sdk"), ("zeta", "sdk"), ("board", "api-owner")]
    named = api_client.get(f"{BASE}?name=board").json()["views"]
    assert [v["owner"] for v in named] == ["sdk", "api-owner"]
    assert [v["name"] for v in reader_api.get(BASE).json()["views"]] == ["board"]


def test_patch_changes_what_is_given_and_counts_versions(api_client):
    view = create(api_client, state={"status": ["Failed"]}).json()
    url = f"{BASE}/{view['id']}"
    response = api_client.patch_json(
        url, {"name": "renamed", "state": {"experiment": "mnist"}, "version": 1}
    )
    assert response.status_code == 200, response.content
    doc = response.json()
    assert (doc["name"], doc["state"], doc["version"]) == ("renamed", {"experiment": ["mnist"]}, 2)
    assert doc["charts"] == []
    stale = api_client.patch_json(url, {"name": "again", "version": 1})
    assert_error(stale, 409, "Conflict", "since you opened version 1")
    restored = api_client.post_json(f"{url}/restore", {"version": 1})
    assert restored.status_code == 200
    assert (restored.json()["name"], restored.json()["state"], restored.json()["version"]) == (
        "failures",
        {"status": ["Failed"]},
        3,
    )


def test_a_null_in_a_patch_leaves_the_field_as_it_is(api_client):
    view = create(api_client).json()
    response = api_client.patch_json(f"{BASE}/{view['id']}", {"visibility": None, "name": "x"})
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["visibility"]) == ("x", view["visibility"])


def test_delete_then_the_view_is_gone_with_a_message(api_client, reader_api):
    view = create(api_client, visibility="workspace").json()
    url = f"{BASE}/{view['id']}"
    assert_error(reader_api.delete(url), 403, "Forbidden", "your role is reader")
    response = api_client.delete(url)
    assert response.status_code == 204
    assert_error(api_client.get(url), 404, "NotFound", "was deleted by sdk")
    assert_error(reader_api.get(f"{url}/runs"), 404, "NotFound", "was deleted")
    assert api_client.get(BASE).json()["views"] == []
    assert SavedView.objects.get(pk=view["id"]).deleted_at is not None


def test_permission_matrix_over_the_api(api_client, reader_api, owner_api, outsider_api):
    private = create(api_client, name="private").json()
    shared = create(api_client, name="shared", visibility="workspace").json()
    for client in (reader_api, owner_api):
        assert_error(client.get(f"{BASE}/{private['id']}"), 404, "NotFound")
        assert client.get(f"{BASE}/{shared['id']}").status_code == 200
    assert_error(outsider_api.get(f"{BASE}/{shared['id']}"), 404, "NotFound")
    assert_error(outsider_api.get(BASE), 404, "NotFound")
    assert_error(create(outsider_api), 404, "NotFound")
    assert_error(reader_api.patch_json(f"{BASE}/{shared['id']}", {"name": "x"}), 403, "Forbidden")
    response = owner_api.patch_json(f"{BASE}/{shared['id']}", {"visibility": "private"})
    assert response.json()["visibility"] == "private"
    # Private again: the workspace owner who unshared it can no longer open it.
    assert_error(owner_api.get(f"{BASE}/{shared['id']}"), 404, "NotFound")
    mine = create(reader_api, name="reader's own")
    assert mine.status_code == 201
    assert_error(
        create(reader_api, name="shared by reader", visibility="workspace"),
        403,
        "Forbidden",
        "readers can save private views",
    )


def test_scoped_tokens_have_no_views(scoped_api):
    assert_error(scoped_api.get(BASE), 403, "Forbidden", "cannot use saved views")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 400, "name"),
        ({"name": ""}, 400, "a view needs a name"),
        ({"name": "x", "visibility": "everyone"}, 400, "visibility is private or workspace"),
        ({"name": "x", "state": {"status": "Exploded"}}, 400, "is not a status"),
        ({"name": "x", "state": {"filter": "status ="}}, 400, "filter:"),
        ({"name": "x", "state": {"color": "red"}}, 400, "'color' is not a run list parameter"),
        ({"name": "x", "state": {"q": 3}}, 400, "expected text"),
        ({"name": "x", "state": "status=Failed"}, 400, "state"),
        ({"name": "x", "charts": [{"type": "pie"}]}, 400, "charts.0.type"),
        ({"name": "x", "charts": {"type": "line"}}, 400, "charts"),
        ({"name": "x", "colour": 1}, 400, "colour"),
    ],
)
def test_bad_bodies_get_a_400_naming_the_problem(api_client, body, status, fragment):
    response = api_client.post_json(BASE, body)
    assert response.status_code == status, response.content
    assert fragment in response.json()["error"]["message"]


def test_a_taken_name_is_a_400(api_client):
    create(api_client, name="same")
    assert_error(create(api_client, name="same"), 400, "ValidationError", "already have a view")


@pytest.mark.parametrize(
    "path", ["/abc", "/99999", "/99999/runs", "/0", "/-1", f"/{10**30}", f"/{2**63}/runs"]
)
def test_unknown_views_are_404_or_400(api_client, path):
    response = api_client.get(BASE + path)
    assert response.status_code in (400, 404)
    assert "error" in response.json()


def test_the_runs_of_a_view_in_its_sort_order(api_client, runs):
    view = create(api_client, state={"status": ["Failed"], "sort": "metrics.acc"}).json()
    response = api_client.get(f"{BASE}/{view['id']}/runs?perPage=2")
    assert response.status_code == 200
    page = response.json()
    # Every failed run, children too, lowest accuracy first (the child has none: last).
    assert [r["runId"] for r in page["runs"]] == [runs[2].id, runs[0].id]
    assert (page["total"], page["hasMore"], page["perPage"]) == (3, True, 2)
    assert page["runs"][0]["metrics"] == {"acc": pytest.approx(0.7)}
    rest = api_client.get(f"{BASE}/{view['id']}/runs?perPage=2&page=2").json()
    assert [r["runId"] for r in rest["runs"]] == [runs[3].id]
    everything = create(api_client, name="all").json()
    top = api_client.get(f"{BASE}/{everything['id']}/runs").json()
    assert {r["runId"] for r in top["runs"]} == {runs[0].id, runs[1].id, runs[2].id}


def test_view_runs_queries_do_not_grow(api_client, runs, django_assert_max_num_queries):
    view = create(api_client, state={"experiment": ["mnist"]}).json()
    url = f"{BASE}/{view['id']}/runs"
    api_client.get(url)
    # token, membership, view, count, page, tags, properties, metrics (+ token last-used)
    with django_assert_max_num_queries(10) as small:
        api_client.get(url)
    count = len(small.captured_queries)
    RunFactory.create_batch(20, experiment=runs[0].experiment)
    with django_assert_max_num_queries(count):
        response = api_client.get(url)
    assert response.json()["total"] == 23


def test_restoring_a_version_that_never_was_is_a_404(api_client):
    view = create(api_client).json()
    url = f"{BASE}/{view['id']}/restore"
    assert_error(api_client.post_json(url, {"version": 7}), 404, "NotFound", "has no version 7")
    response = api_client.post_json(url, {"version": 10**30})
    assert response.status_code == 400
