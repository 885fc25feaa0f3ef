"""Pages refuse control characters like the API: a message, never a 500, nothing
stored; a NUL in a URL's path is the studio's 400 page, in a form or a query string
a message beside the field."""

import pytest
from django.urls import reverse

from runs.models import Run, SavedView, Tag
from tests.factories import RunFactory

HX = {"HX-Request": "true"}


@pytest.fixture
def run(workspace):
    return RunFactory(experiment__workspace=workspace, display_name="before")


def url(name: str, run) -> str:
    return reverse(name, args=[run.workspace.slug, run.pk])


def state(run) -> tuple:
    run.refresh_from_db()
    tags = sorted(Tag.objects.filter(run=run).values_list("key", "value"))
    return (run.display_name, run.description, tags, SavedView.objects.count())


WRITES = [
    ("runs:run-display-name", lambda x: {"display_name": f"new{x}name"}),
    ("runs:run-description", lambda x: {"description": f"# Notes {x}"}),
    ("runs:run-tags", lambda x: {"action": "add", "key": f"k{x}k", "value": "v"}),
    ("runs:run-tags", lambda x: {"action": "add", "key": "k", "value": f"v{x}"}),
]


@pytest.mark.parametrize("char", ["\x7f", "\x85", "\x9b", "\x1b", "\x0b"])
@pytest.mark.parametrize(("name", "data"), WRITES)
def test_control_characters_in_page_forms_get_a_message(contributor_client, run, name, data, char):
    before = state(run)
    response = contributor_client.post(url(name, run), data(char), headers=HX)
    assert response.status_code in (400, 422), response.content[:300]
    assert "control character" in response.content.decode()
    assert state(run) == before


@pytest.mark.parametrize(("name", "data"), WRITES)
def test_a_nul_in_a_form_gets_a_message(contributor_client, run, name, data):
    before = state(run)
    response = contributor_client.post(url(name, run), data("\x00"))
    assert response.status_code in (400, 422)
    assert "Null characters are not allowed" in response.content.decode()
    assert state(run) == before


def test_a_saved_view_named_with_a_control_character_is_refused(contributor_client, workspace):
    path = reverse("runs:saved-view-create", args=[workspace.slug])
    response = contributor_client.post(path, {"name": "best\x7f", "visibility": "private"})
    assert response.status_code in (400, 422)
    assert "control character" in response.content.decode()
    assert SavedView.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/w/team/runs/a%00b/",
        "/w/te%00am/runs/",
        "/w/team/runs/{run}/files/a%00b",
        "/w/team/views/1/a%00b/",
    ],
)
def test_a_nul_in_a_path_is_the_400_page(reader_client, run, path):
    response = reader_client.get(path.format(run=run.pk))
    assert response.status_code == 400
    body = response.content.decode()
    assert "That request cannot be answered" in body
    assert "NUL character (U+0000)" in body


@pytest.mark.parametrize(
    "query",
    [
        "q=a%00b",
        "filter=tags.x%20%3D%20%27a%00b%27",
        "tag=a%00b",
        "experiment=a%00b",
        "sort=metrics.a%00b",
        "cols=tags.a%00b",
    ],
)
@pytest.mark.parametrize("page", ["runs/", "runs/export.csv", "runs/count/"])
def test_a_nul_in_a_query_string_is_a_400_with_a_message(reader_client, run, page, query):
    response = reader_client.get(f"/w/team/{page}?{query}")
    assert response.status_code == 400, response.content[:300]
    assert Run.objects.filter(pk=run.pk).exists()


@pytest.mark.parametrize("query", ["runs=a%00b", "runs={run},a%00b", "metrics=a%00b"])
def test_a_nul_in_compares_query_string_is_no_500(reader_client, run, query):
    response = reader_client.get(f"/w/team/compare/?{query.format(run=run.pk)}")
    assert response.status_code in (200, 400), response.content[:300]
