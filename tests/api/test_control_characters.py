"""Control characters are refused with a 400 naming the field, the same on SQLite and
PostgreSQL (which cannot store a NUL at all): never a 500, and nothing stored.

Tabs and line breaks are text in descriptions, error messages and text metric values;
everywhere else (names, keys, values) every control character is refused."""

import json

import pytest

from runs.models import Experiment, LatestMetric, Property, Run, SavedView, Tag
from runs.notifications.models import AlertRule
from tests.api.helpers import assert_error, run_url
from tests.factories import RunFactory

# (what is sent, a description for test ids): a NUL, a control character, DEL, a C1
# control, an unpaired surrogate (JSON's "\ud800").
BAD = ["a\x00b", "a\x07b", "a\x7fb", "a\x9bb", "a\ud800b"]
IDS = ["nul", "bell", "del", "c1", "surrogate"]


def send(client, method: str, path: str, body) -> object:
    # json.dumps writes every one of them as an escape, as any JSON client does.
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def bodies(run):
    r = run_url(run)
    return [
        ("post", "/api/w/team/experiments", lambda x: {"name": x}),
        ("post", "/api/w/team/runs", lambda x: {"experiment": x}),
        ("post", "/api/w/team/runs", lambda x: {"experiment": "e", "displayName": x}),
        ("post", "/api/w/team/runs", lambda x: {"experiment": "e", "tags": {x: "v"}}),
        ("post", "/api/w/team/runs", lambda x: {"experiment": "e", "tags": {"k": x}}),
        ("post", "/api/w/team/runs", lambda x: {"experiment": "e", "properties": {x: "v"}}),
        ("post", "/api/w/team/runs", lambda x: {"experiment": "e", "properties": {"k": x}}),
        ("patch", r, lambda x: {"displayName": x}),
        ("patch", r + "/tags", lambda x: {"set": {"k": x}}),
        ("patch", r + "/tags", lambda x: {"set": {x: None}}),
        ("post", r + "/properties", lambda x: {"properties": {x: "v"}}),
        ("post", r + "/properties", lambda x: {"properties": {"k": x}}),
        ("post", r + "/metrics", lambda x: {"series": [{"name": x, "values": [1.0]}]}),
        ("post", r + "/children", lambda x: {"displayNames": [x]}),
        ("post", r + "/children", lambda x: {"tagKey": x, "tagValues": ["a"]}),
        ("post", r + "/children", lambda x: {"tagKey": "k", "tagValues": [x]}),
        ("post", r + "/fail", lambda x: {"errorCode": x}),
        ("post", "/api/w/team/views", lambda x: {"name": x, "state": {}}),
        (
            "post",
            "/api/w/team/alerts",
            lambda x: {"name": x, "statuses": ["Failed"], "allMembers": True},
        ),
        ("post", "/api/w/team/alerts", lambda x: {"statuses": ["Failed"], "emails": [x]}),
        ("post", "/api/w/team/alerts", lambda x: {"statuses": ["Failed"], "webhook": x}),
    ]


def snapshot(run):
    run.refresh_from_db()
    return (
        Run.objects.count(),
        Experiment.objects.count(),
        (run.display_name, run.description, run.status, run.error_code, run.error_message),
        sorted(Tag.objects.values_list("key", "value")),
        sorted(Property.objects.values_list("key", "value")),
        LatestMetric.objects.count(),
        SavedView.objects.count(),
        AlertRule.objects.count(),
    )


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_control_characters_in_one_line_fields_are_400(owner_api, workspace, bad):
    run = RunFactory(experiment__workspace=workspace)
    before = snapshot(run)
    for method, path, body in bodies(run):
        response = send(owner_api, method, path, body(bad))
        assert response.status_code == 400, (method, path, body(bad), response.content)
        message = response.json()["error"]["message"]
        # The character is named, or the name's rules are (experiment names).
        assert "U+" in message or "not a valid name" in message, message
    assert snapshot(run) == before


@pytest.mark.parametrize("bad", BAD, ids=IDS)
def test_multiline_text_takes_tabs_and_line_breaks_but_no_other_control(owner_api, workspace, bad):
    run = RunFactory(experiment__workspace=workspace)
    r = run_url(run)
    for method, path, body in [
        ("patch", r, lambda x: {"description": f"# Title\r\n\n\tcode {x}"}),
        ("post", r + "/metrics", lambda x: {"series": [{"name": "m", "values": [f"a\tb\n{x}"]}]}),
        ("post", r + "/fail", lambda x: {"message": f"Traceback:\n\t{x}"}),
        ("post", r + "/fail", lambda x: {"details": {"lines": ["ok", x]}}),
    ]:
        if "details" in body(bad) and bad in ("a\x07b", "a\x7fb", "a\x9bb"):
            continue  # details are any JSON: only what no database stores is refused
        response = send(owner_api, method, path, body(bad))
        assert response.status_code == 400, (path, body(bad), response.content)
    run.refresh_from_db()
    assert (run.description, run.status, LatestMetric.objects.count()) == ("", "Running", 0)


def test_multiline_text_is_stored_with_its_tabs_and_line_breaks(owner_api, workspace):
    run = RunFactory(experiment__workspace=workspace)
    r = run_url(run)
    assert send(owner_api, "patch", r, {"description": "a\r\n\tb\nc"}).status_code == 200
    text = {"series": [{"name": "m", "values": ["line 1\n\tline 2"]}]}
    assert send(owner_api, "post", r + "/metrics", text).status_code == 200
    failed = send(owner_api, "post", r + "/fail", {"message": "Traceback:\n\tboom"})
    assert failed.json()["error"]["message"] == "Traceback:\n\tboom"
    run.refresh_from_db()
    assert run.description == "a\r\n\tb\nc"


@pytest.mark.parametrize(
    "path",
    [
        "/api/w/team/runs?experiment=a%00b",
        "/api/w/team/runs?tag=a%00b",
        "/api/w/team/runs?filter=tags.x%20%3D%20%27a%00b%27",
        "/api/w/team/runs/a%00b",
        "/api/w/a%00b/runs",
        "/api/w/team/runs/{run}/metrics/series?name=a%00b",
        "/api/w/team/runs/{run}/files/content?name=a%00b",
    ],
)
def test_a_nul_in_a_url_is_400(owner_api, workspace, path):
    run = RunFactory(experiment__workspace=workspace)
    response = owner_api.get(path.format(run=run.id))
    assert_error(response, 400, "BadRequest", "NUL character (U+0000)")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/w/team/heartbeats", {"runIds": ["a\x00b"]}),
        ("/api/w/team/metrics", {"runs": [{"runId": "a\x00b", "series": []}]}),
        ("/api/w/team/workers", {"name": "w", "targets": ["a\ud800b"]}),
        ("/api/w/team/runs", {"experiment": "e", "unknown\x00": 1}),
    ],
)
def test_a_nul_anywhere_in_a_json_body_is_400_naming_where(owner_api, workspace, path, body):
    response = send(owner_api, "post", path, body)
    assert_error(response, 400, "ValidationError", "body.")


def test_a_backslash_u_typed_as_text_is_text(owner_api, workspace):
    run = RunFactory(experiment__workspace=workspace)
    response = send(owner_api, "patch", run_url(run), {"displayName": "\\u0000 is NUL"})
    assert response.json()["displayName"] == "\\u0000 is NUL"
