"""Writes on the run page: tags, description (and its preview), display name, cancel."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from runs import services
from runs.markdown import MAX_DESCRIPTION_CHARS
from runs.models import Run, RunEvent, Tag
from runs.status import Status
from tests.factories import ExperimentFactory, RunFactory, TagFactory, WorkspaceFactory

HX = {"HX-Request": "true"}


@pytest.fixture
def run(workspace):
    return RunFactory(
        experiment=ExperimentFactory(workspace=workspace, name="mnist"), status=Status.RUNNING
    )


def url(name: str, run) -> str:
    return reverse(name, args=[run.workspace.slug, run.pk])


def tags_of(run) -> dict:
    return dict(Tag.objects.filter(run=run).values_list("key", "value"))


# One representative valid request per write: (url name, POST data).
WRITES = {
    "tag add": ("runs:run-tags", {"action": "add", "key": "quality", "value": "good"}),
    "tag edit": (
        "runs:run-tags",
        {"action": "edit", "original_key": "seed", "key": "seed", "value": "2"},
    ),
    "tag delete": ("runs:run-tags", {"action": "delete", "key": "seed"}),
    "description save": ("runs:run-description", {"description": "# Notes"}),
    "description preview": ("runs:run-description-preview", {"description": "# Notes"}),
    "display name": ("runs:run-display-name", {"display_name": "better name"}),
    "cancel": ("runs:run-cancel", {}),
}
EXPECTED = {"reader": 403, "contributor": 200, "owner": 200, "outsider": 404}


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("action", list(WRITES))
def test_write_permissions(request, run, role, action):
    TagFactory(run=run, key="seed", value="1")
    client = request.getfixturevalue(f"{role}_client")
    name, data = WRITES[action]
    before = (tags_of(run), Run.objects.values_list("status", "description").get(pk=run.pk))
    response = client.post(url(name, run), data, headers=HX)
    assert response.status_code == EXPECTED[role]
    after = (tags_of(run), Run.objects.values_list("status", "description").get(pk=run.pk))
    if EXPECTED[role] != 200 or action == "description preview":
        assert after == before
    else:
        assert after != before or action == "display name"
        assert "<html" not in response.content.decode()
    if role == "reader":
        assert "contributor role" in response.content.decode()
        assert "showToast" in response["HX-Trigger"]


def test_get_is_not_allowed_on_writes(contributor_client, run):
    for name, _ in WRITES.values():
        assert contributor_client.get(url(name, run)).status_code == 405


# -- tags -------------------------------------------------------------------------------


def test_adding_a_tag_returns_the_partial_and_announces_the_change(contributor_client, run):
    response = contributor_client.post(
        url("runs:run-tags", run), {"action": "add", "key": "quality", "value": "great"}, headers=HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="run-tags"')
    assert "great" in html
    assert "runChanged" in response["HX-Trigger"]
    assert tags_of(run) == {"quality": "great"}
    event = RunEvent.objects.get(run=run, kind="tag")
    assert (event.actor, event.field, event.old, event.new) == (
        contributor_client.user,
        "quality",
        None,
        "great",
    )


def test_an_empty_value_makes_a_key_only_tag(contributor_client, run):
    contributor_client.post(
        url("runs:run-tags", run),
        {"action": "add", "key": "worth another look", "value": ""},
        headers=HX,
    )
    assert tags_of(run) == {"worth another look": None}


def test_editing_a_tag_can_rename_it(contributor_client, run):
    TagFactory(run=run, key="qualty", value="good")
    response = contributor_client.post(
        url("runs:run-tags", run),
        {"action": "edit", "original_key": "qualty", "key": "quality", "value": "better"},
        headers=HX,
    )
    assert response.status_code == 200
    assert tags_of(run) == {"quality": "better"}


def test_deleting_a_tag(contributor_client, run):
    TagFactory(run=run, key="a", value="1")
    TagFactory(run=run, key="b", value=None)
    response = contributor_client.post(
        url("runs:run-tags", run), {"action": "delete", "key": "b"}, headers=HX
    )
    assert response.status_code == 200
    assert tags_of(run) == {"a": "1"}


def test_the_tag_editor_opens_inline(contributor_client, run):
    TagFactory(run=run, key="quality", value="good")
    response = contributor_client.get(
        reverse("runs:run-part", args=["team", run.pk, "run-tags"]) + "?edit_tag=quality",
        headers=HX,
    )
    html = response.content.decode()
    assert 'name="original_key" value="quality"' in html
    assert 'name="value" value="good"' in html


def test_the_tag_editor_opens_without_javascript(contributor_client, run):
    TagFactory(run=run, key="quality", value="good")
    html = contributor_client.get(url("runs:run-detail", run) + "?edit_tag=quality").content
    assert b'name="original_key" value="quality"' in html


BAD_TAGS = [
    ({"action": "add", "key": "", "value": "x"}, "A tag needs a key."),
    ({"action": "add", "key": "   ", "value": "x"}, "A tag needs a key."),
    ({"action": "add", "key": "k" * 256, "value": "x"}, "at most 255 characters"),
    ({"action": "add", "key": "ok", "value": "v" * 1001}, "at most 1,000 characters"),
    ({"action": "add", "key": "a\x00b", "value": "x"}, "Null characters are not allowed"),
    ({"action": "add", "key": "a\nb", "value": "x"}, "control character"),
    ({"action": "add", "key": "tab\tkey", "value": "x"}, "control character"),
    ({"action": "add", "key": "ok", "value": "bell\x07"}, "control character"),
    ({"action": "edit", "original_key": "seed", "key": "", "value": "x"}, "A tag needs a key."),
    ({"action": "edit", "original_key": "seed", "key": "x\x1b", "value": ""}, "control character"),
]


@pytest.mark.parametrize(("data", "message"), BAD_TAGS)
def test_bad_tags_get_422_with_the_form_and_a_message(contributor_client, run, data, message):
    TagFactory(run=run, key="seed", value="1")
    response = contributor_client.post(url("runs:run-tags", run), data, headers=HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" not in html
    assert message in html
    assert 'aria-invalid="true"' in html or "errorlist" in html
    assert "HX-Trigger" not in response
    assert tags_of(run) == {"seed": "1"}


@pytest.mark.parametrize(("data", "message"), BAD_TAGS[:4])
def test_bad_tags_without_javascript_get_the_whole_page(contributor_client, run, data, message):
    TagFactory(run=run, key="seed", value="1")
    response = contributor_client.post(url("runs:run-tags", run), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" in html
    assert message in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "rename-all"}, "Unknown tag action"),
        ({"action": "delete"}, "No key was sent"),
    ],
)
def test_malformed_tag_requests_get_400(contributor_client, run, data, message):
    response = contributor_client.post(url("runs:run-tags", run), data, headers=HX)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_tag_writes_without_javascript_redirect_back(contributor_client, run):
    response = contributor_client.post(
        url("runs:run-tags", run), {"action": "add", "key": "quality", "value": "good"}
    )
    assert response.status_code == 302
    assert response["Location"] == url("runs:run-detail", run) + "#run-tags"


# -- description --------------------------------------------------------------------------


def test_saving_the_description_caches_sanitised_html(contributor_client, run):
    response = contributor_client.post(
        url("runs:run-description", run),
        {"description": "See [base](run:mnist_1_aa)\r\n<script>alert(1)</script>"},
        headers=HX,
    )
    assert response.status_code == 200
    assert "runChanged" in response["HX-Trigger"]
    run.refresh_from_db()
    assert run.description == "See [base](run:mnist_1_aa)\n<script>alert(1)</script>"
    assert 'href="/w/team/runs/mnist_1_aa/"' in run.description_html
    assert "<script" not in run.description_html
    assert run.description_html in response.content.decode()


def test_preview_renders_without_saving(contributor_client, run):
    response = contributor_client.post(
        url("runs:run-description-preview", run),
        {"description": "| a |\n|---|\n| 1 |\n\n[x](javascript:alert(1))"},
        headers=HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<div id="description-preview"')
    assert "<table>" in html
    assert "javascript" not in html
    run.refresh_from_db()
    assert run.description == ""
    assert "HX-Trigger" not in response


def test_the_description_editor_wires_a_delayed_live_preview(contributor_client, run):
    response = contributor_client.get(
        reverse("runs:run-part", args=["team", run.pk, "run-description"]) + "?edit=1",
        headers=HX,
    )
    html = response.content.decode()
    assert url("runs:run-description-preview", run) in html
    assert 'hx-trigger="input changed delay:300ms"' in html


def test_readers_asking_for_the_editor_get_the_read_only_view(reader_client, run):
    response = reader_client.get(
        reverse("runs:run-part", args=["team", run.pk, "run-description"]) + "?edit=1",
        headers=HX,
    )
    assert "<textarea" not in response.content.decode()


@pytest.mark.parametrize("name", ["runs:run-description", "runs:run-description-preview"])
def test_descriptions_over_the_cap_get_a_clear_message(contributor_client, run, name):
    text = "x" * (MAX_DESCRIPTION_CHARS + 1)
    response = contributor_client.post(url(name, run), {"description": text}, headers=HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "the limit is 65,536" in html
    assert "<html" not in html
    run.refresh_from_db()
    assert run.description == ""


def test_a_description_at_the_cap_is_accepted(contributor_client, run):
    text = "y" * MAX_DESCRIPTION_CHARS
    response = contributor_client.post(
        url("runs:run-description", run), {"description": text}, headers=HX
    )
    assert response.status_code == 200
    run.refresh_from_db()
    assert len(run.description) == MAX_DESCRIPTION_CHARS


def test_description_without_javascript_redirects_and_records_an_event(contributor_client, run):
    response = contributor_client.post(url("runs:run-description", run), {"description": "hi"})
    assert response.status_code == 302
    assert response["Location"].endswith("#run-description")
    assert RunEvent.objects.filter(run=run, kind="description", new="hi").exists()


# -- display name -------------------------------------------------------------------------


def test_renaming_a_run(contributor_client, run):
    response = contributor_client.post(
        url("runs:run-display-name", run), {"display_name": "  resnet, take 2 "}, headers=HX
    )
    assert response.status_code == 200
    assert "resnet, take 2" in response.content.decode()
    assert "runChanged" in response["HX-Trigger"]
    run.refresh_from_db()
    assert run.display_name == "resnet, take 2"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("n" * 256, "at most 255 characters"),
        ("bad\x00name", "Null characters are not allowed"),
        ("bad\x1bname", "control character"),
    ],
)
def test_bad_display_names_get_422(contributor_client, run, name, message):
    old = run.display_name
    response = contributor_client.post(
        url("runs:run-display-name", run), {"display_name": name}, headers=HX
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    run.refresh_from_db()
    assert run.display_name == old


# -- cancel -------------------------------------------------------------------------------


def test_cancel_reaches_unfinished_children_and_announces_it(contributor_client, run):
    running = RunFactory.create_batch(3, parent=run, experiment=run.experiment)
    queued = RunFactory(parent=running[0], experiment=run.experiment, status=Status.QUEUED)
    done = RunFactory(parent=run, experiment=run.experiment, status=Status.COMPLETED)
    response = contributor_client.post(url("runs:run-cancel", run), headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Cancel requested" in html
    assert "runChanged" in response["HX-Trigger"]
    assert "4 unfinished child runs" in response["HX-Trigger"]
    statuses = dict(Run.objects.values_list("pk", "status"))
    assert statuses[run.pk] == Status.CANCEL_REQUESTED
    assert {statuses[r.pk] for r in running} == {Status.CANCEL_REQUESTED}
    assert statuses[queued.pk] == Status.CANCELED
    assert statuses[done.pk] == Status.COMPLETED
    event = RunEvent.objects.filter(run=run, kind="status").first()
    assert event.actor == contributor_client.user
    assert (event.old, event.new) == (Status.RUNNING, Status.CANCEL_REQUESTED)


def test_cancelling_a_finished_run_is_a_409_with_a_message(contributor_client, run):
    services.run_complete(run=run)
    response = contributor_client.post(url("runs:run-cancel", run), headers=HX)
    assert response.status_code == 409
    assert "already Completed" in response.content.decode()
    assert "showToast" in response["HX-Trigger"]


def test_cancel_without_javascript_redirects_with_a_message(contributor_client, run):
    response = contributor_client.post(url("runs:run-cancel", run), follow=True)
    assert response.redirect_chain == [(url("runs:run-detail", run), 302)]
    assert "Cancel requested for this run." in response.content.decode()


# -- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action", list(WRITES))
def test_writes_need_the_csrf_token(contributor_client, run, action):
    client = Client(enforce_csrf_checks=True)
    client.force_login(contributor_client.user)
    name, data = WRITES[action]
    TagFactory(run=run, key="seed", value="1")
    response = client.post(url(name, run), data, headers=HX)
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == Status.RUNNING
    # The page's token (sent by htmx as X-CSRFToken) lets the same request through.
    client.get(url("runs:run-detail", run))
    token = client.cookies["csrftoken"].value
    response = client.post(url(name, run), data, headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200


def test_other_workspace_runs_cannot_be_written_through_this_workspace(contributor_client):
    other = RunFactory(experiment=ExperimentFactory(workspace=WorkspaceFactory(slug="other")))
    for name, data in WRITES.values():
        response = contributor_client.post(reverse(name, args=["team", other.pk]), data, headers=HX)
        assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == Status.RUNNING


def test_a_refused_form_post_shows_the_studio_403_page(reader_client, run):
    response = reader_client.post(url("runs:run-tags", run), {"key": "seed", "value": "1"})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    content = response.content.decode()
    assert "editing tags needs the contributor role" in content
    assert "<header" in content
    assert not tags_of(run)


def test_a_refused_htmx_post_answers_with_a_toast(reader_client, run):
    response = reader_client.post(url("runs:run-tags", run), {"key": "seed"}, headers=HX)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert "showToast" in response["HX-Trigger"]
