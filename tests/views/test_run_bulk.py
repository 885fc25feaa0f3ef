"""Bulk actions on the run list: atomic, undoable tag changes, cancel, permissions, CSRF."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from runs.models import Role, RunEvent, Tag
from runs.status import Status
from tests.factories import (
    ExperimentFactory,
    MembershipFactory,
    RunFactory,
    TagFactory,
    UserFactory,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def exp(workspace):
    return ExperimentFactory(workspace=workspace, name="mnist")


def bulk_url(workspace, query: str = "") -> str:
    url = reverse("runs:run-bulk", args=[workspace.slug])
    return f"{url}?{query}" if query else url


def tags_of(run) -> dict:
    return dict(Tag.objects.filter(run=run).values_list("key", "value"))


def post(client, workspace, data, query="", headers=HX):
    return client.post(bulk_url(workspace, query), data, headers=headers)


def undo_token(response) -> str:
    return json.loads(response["HX-Trigger"])["runsBulkDone"]["undo"]


def test_add_tag_to_many_runs_in_one_request(contributor_client, workspace, exp):
    a, b = RunFactory.create_batch(2, experiment=exp)
    response = post(
        contributor_client,
        workspace,
        {"action": "tag-add", "runs": [a.id, b.id], "key": "quality", "value": "great"},
    )
    assert response.status_code == 200
    assert tags_of(a) == tags_of(b) == {"quality": "great"}
    assert b'id="run-table"' in response.content
    assert b"<html" not in response.content
    event = json.loads(response["HX-Trigger"])["runsBulkDone"]
    assert event["message"] == "Tagged 2 runs quality=great."
    assert event["undo"]
    assert RunEvent.objects.filter(kind="tag", actor=contributor_client.user).count() == 2


def test_undo_of_add_restores_previous_values_exactly(contributor_client, workspace, exp):
    absent, key_only, other, same = RunFactory.create_batch(4, experiment=exp)
    TagFactory(run=key_only, key="quality", value=None)
    TagFactory(run=other, key="quality", value="poor")
    TagFactory(run=same, key="quality", value="great")
    TagFactory(run=other, key="keep", value="me")
    ids = [absent.id, key_only.id, other.id, same.id]
    response = post(
        contributor_client,
        workspace,
        {"action": "tag-add", "runs": ids, "key": "quality", "value": "great"},
    )
    assert all(tags_of(r)["quality"] == "great" for r in (absent, key_only, other, same))
    response = post(
        contributor_client, workspace, {"action": "undo", "token": undo_token(response)}
    )
    assert response.status_code == 200
    assert tags_of(absent) == {}
    assert tags_of(key_only) == {"quality": None}
    assert tags_of(other) == {"quality": "poor", "keep": "me"}
    assert tags_of(same) == {"quality": "great"}


def test_key_only_tag_add_and_remove_with_undo(contributor_client, workspace, exp):
    a, b = RunFactory.create_batch(2, experiment=exp)
    TagFactory(run=a, key="look", value="twice")
    response = post(
        contributor_client, workspace, {"action": "tag-add", "runs": [a.id, b.id], "key": "look"}
    )
    assert tags_of(a) == tags_of(b) == {"look": None}
    response = post(
        contributor_client,
        workspace,
        {"action": "tag-remove", "runs": [a.id, b.id], "key": "look"},
    )
    assert response.status_code == 200
    assert tags_of(a) == tags_of(b) == {}
    post(contributor_client, workspace, {"action": "undo", "token": undo_token(response)})
    assert tags_of(a) == tags_of(b) == {"look": None}


def test_remove_tag_undo_brings_back_each_runs_own_value(owner_client, workspace, exp):
    a, b, c = RunFactory.create_batch(3, experiment=exp)
    TagFactory(run=a, key="quality", value="great")
    TagFactory(run=b, key="quality", value=None)
    response = post(
        owner_client,
        workspace,
        {"action": "tag-remove", "runs": [a.id, b.id, c.id], "key": "quality"},
    )
    assert (tags_of(a), tags_of(b), tags_of(c)) == ({}, {}, {})
    post(owner_client, workspace, {"action": "undo", "token": undo_token(response)})
    assert (tags_of(a), tags_of(b), tags_of(c)) == ({"quality": "great"}, {"quality": None}, {})


def test_cancel_cancels_what_it_can_and_lists_what_it_skipped(contributor_client, workspace, exp):
    running = RunFactory(experiment=exp, status=Status.RUNNING)
    queued = RunFactory(experiment=exp, status=Status.QUEUED)
    done = RunFactory(experiment=exp, status=Status.COMPLETED)
    failed = RunFactory(experiment=exp, status=Status.FAILED)
    response = post(
        contributor_client,
        workspace,
        {"action": "cancel", "runs": [running.id, queued.id, done.id, failed.id]},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Cancel requested for 2 runs; 2 skipped:" in content
    assert f'<span class="mono">{done.id}</span>: already Completed' in content
    assert f'<span class="mono">{failed.id}</span>: already Failed' in content
    for run, status in (
        (running, Status.CANCEL_REQUESTED),
        (queued, Status.CANCELED),
        (done, Status.COMPLETED),
        (failed, Status.FAILED),
    ):
        run.refresh_from_db()
        assert run.status == status
    done_event = json.loads(response["HX-Trigger"])["runsBulkDone"]
    assert done_event["message"].startswith("Cancel requested for 2 runs; 2 skipped")


def test_cancel_of_finished_runs_only_changes_nothing_and_says_why(
    contributor_client, workspace, exp
):
    done = RunFactory(experiment=exp, status=Status.COMPLETED)
    response = post(contributor_client, workspace, {"action": "cancel", "runs": [done.id]})
    assert response.status_code == 422
    content = response.content.decode()
    assert "Nothing was cancelled: 1 run skipped." in content
    assert "already Completed" in content
    assert not RunEvent.objects.filter(kind="status").exists()


def test_cancel_without_javascript_says_what_was_skipped(contributor_client, workspace, exp):
    running = RunFactory(experiment=exp, status=Status.RUNNING)
    done = RunFactory(experiment=exp, status=Status.COMPLETED)
    url = reverse("runs:run-bulk", args=[workspace.slug])
    response = contributor_client.post(
        url, {"action": "cancel", "runs": [running.id, done.id]}, follow=True
    )
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Cancel requested for 1 run; 1 skipped:" in text
    assert f"{done.id}: already Completed" in text


def test_cancel_moves_every_selected_run(contributor_client, workspace, exp):
    running = RunFactory(experiment=exp, status=Status.RUNNING)
    child = RunFactory(experiment=exp, parent=running, status=Status.RUNNING)
    queued = RunFactory(experiment=exp, status=Status.QUEUED)
    response = post(
        contributor_client,
        workspace,
        {"action": "cancel", "runs": [running.id, child.id, queued.id]},
    )
    assert response.status_code == 200
    for run, status in (
        (running, Status.CANCEL_REQUESTED),
        (child, Status.CANCEL_REQUESTED),
        (queued, Status.CANCELED),
    ):
        run.refresh_from_db()
        assert run.status == status
    assert json.loads(response["HX-Trigger"])["runsBulkDone"]["undo"] == ""


def test_unknown_run_changes_nothing(contributor_client, workspace, exp):
    run = RunFactory(experiment=exp)
    theirs = RunFactory(experiment=ExperimentFactory(name="theirs"))
    response = post(
        contributor_client,
        workspace,
        {"action": "tag-add", "runs": [run.id, theirs.id], "key": "k", "value": "v"},
    )
    assert response.status_code == 400
    assert "no such runs in this workspace" in response.content.decode()
    assert tags_of(run) == {}
    assert tags_of(theirs) == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "explode", "runs": ["x"]}, "Select a valid choice"),
        ({"action": "tag-add", "key": "k"}, "select at least one run"),
        ({"action": "tag-add", "runs": ["{run}"], "key": ""}, "non-empty"),
        ({"action": "tag-add", "runs": ["{run}"], "key": "k" * 300}, "characters"),
        ({"action": "tag-add", "runs": ["{run}"], "key": "k", "value": "v" * 1001}, "characters"),
        ({"action": "undo"}, "nothing to undo"),
        ({"action": "undo", "token": "forged"}, "no longer valid"),
    ],
)
def test_bad_bulk_input_gets_a_message(contributor_client, workspace, exp, data, message):
    run = RunFactory(experiment=exp)
    data = {
        k: [run.id if x == "{run}" else x for x in v] if isinstance(v, list) else v
        for k, v in data.items()
    }
    response = post(contributor_client, workspace, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert tags_of(run) == {}


def test_forged_undo_token_for_another_workspace_cannot_touch_its_runs(
    contributor_client, workspace, exp
):
    other_ws_run = RunFactory(experiment=ExperimentFactory(name="theirs"))
    TagFactory(run=other_ws_run, key="quality", value="great")
    from django.core import signing

    from runs.views.run_bulk import UNDO_SALT

    token = signing.dumps(
        {"key": "quality", "prev": {other_ws_run.id: [False, None]}}, salt=UNDO_SALT, compress=True
    )
    response = post(contributor_client, workspace, {"action": "undo", "token": token})
    assert response.status_code == 400
    assert tags_of(other_ws_run) == {"quality": "great"}


def test_reader_gets_403_and_nothing_changes(reader_client, workspace, exp):
    run = RunFactory(experiment=exp)
    response = post(reader_client, workspace, {"action": "tag-add", "runs": [run.id], "key": "k"})
    assert response.status_code == 403
    assert tags_of(run) == {}


@pytest.mark.parametrize("action", ["tag-add", "tag-remove", "cancel", "undo"])
def test_outsider_gets_404(outsider_client, workspace, exp, action):
    run = RunFactory(experiment=exp)
    response = post(outsider_client, workspace, {"action": action, "runs": [run.id], "key": "k"})
    assert response.status_code == 404


def test_get_is_not_allowed(contributor_client, workspace):
    assert contributor_client.get(bulk_url(workspace)).status_code == 405


def test_anonymous_is_sent_to_sign_in(client, workspace, exp):
    run = RunFactory(experiment=exp)
    response = client.post(bulk_url(workspace), {"action": "cancel", "runs": [run.id]})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == Status.RUNNING


def test_csrf_is_enforced(workspace, exp):
    user = UserFactory(username="csrf-user")
    MembershipFactory(workspace=workspace, user=user, role=Role.CONTRIBUTOR)
    run = RunFactory(experiment=exp)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    data = {"action": "tag-add", "runs": [run.id], "key": "k", "value": "v"}
    assert client.post(bulk_url(workspace), data, headers=HX).status_code == 403
    assert tags_of(run) == {}
    page = client.get(reverse("runs:run-list", args=[workspace.slug]))
    token = page.cookies["csrftoken"].value
    response = client.post(bulk_url(workspace), data, headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200
    assert tags_of(run) == {"k": "v"}


def test_plain_post_redirects_back_to_the_list_with_a_message(contributor_client, workspace, exp):
    run = RunFactory(experiment=exp)
    list_path = reverse("runs:experiment-runs", args=[workspace.slug, exp.name])
    response = contributor_client.post(
        bulk_url(workspace, "sort=status&page=2"),
        {"action": "tag-add", "runs": [run.id], "key": "k", "list_path": list_path},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{list_path}?sort=status&page=2"
    page = contributor_client.get(response["Location"])
    assert "Tagged 1 run k." in page.content.decode()


def test_table_after_an_action_keeps_the_list_state(contributor_client, workspace, exp):
    a = RunFactory(experiment=exp, status=Status.FAILED)
    b = RunFactory(experiment=exp, status=Status.RUNNING)
    response = post(
        contributor_client,
        workspace,
        {"action": "tag-add", "runs": [a.id], "key": "k", "value": "v"},
        query="status=Failed",
    )
    content = response.content.decode()
    assert f'data-run="{a.id}"' in content
    assert f'data-run="{b.id}"' not in content


def test_a_bulk_action_on_a_saved_views_page_keeps_its_links_in_the_view(
    contributor_client, workspace
):
    from runs.services import saved_views as view_services

    exp = ExperimentFactory(workspace=workspace, name="mnist")
    run = RunFactory(experiment=exp)
    member = contributor_client.user.memberships.get(workspace=workspace)
    view = view_services.saved_view_create(actor=member, name="v", state={"sort": "created"})
    list_path = reverse("runs:saved-view-list", args=[workspace.slug, view.pk])
    response = contributor_client.post(
        reverse("runs:run-bulk", args=[workspace.slug]) + "?sort=created",
        {"action": "tag-add", "runs": [run.id], "key": "seen", "list_path": list_path},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{list_path}?sort=-name"' in html
