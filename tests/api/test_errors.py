"""One error shape for every failure, and no 500 for bad input."""

import json

import pytest

from tests.api.helpers import RUN_WRITES, assert_error, op_id, run_url

# Writes that read a JSON body (complete and heartbeat take none and ignore one).
JSON_WRITES = [
    op for op in RUN_WRITES if isinstance(op[2], dict) and op[1] not in ("/complete", "/heartbeat")
]


@pytest.mark.parametrize("op", JSON_WRITES, ids=op_id)
@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("{", "malformed JSON body"),
        ('{"a": }', "malformed JSON body"),
        ("{'single': 'quotes'}", "malformed JSON body"),
        ("nul", "malformed JSON body"),
        ('{"a": 1} trailing', "malformed JSON body"),
        ("[" * 100_000, "request body"),
    ],
)
def test_malformed_json_is_400(api_client, run, op, raw, fragment):
    method, suffix, _ = op
    response = getattr(api_client, method)(
        run_url(run, suffix), raw, content_type="application/json"
    )
    assert_error(response, 400, "BadRequest", fragment)


def test_invalid_utf8_is_400(api_client, run):
    response = api_client.post(
        run_url(run, "/properties"),
        b'{"properties": {"\xff": "x"}}',
        content_type="application/json",
    )
    assert_error(response, 400, "BadRequest", "UTF-8")


@pytest.mark.parametrize("body", ["[]", '"text"', "1", "null", "true"])
def test_a_body_that_is_not_an_object_is_400(api_client, run, body):
    response = api_client.post(run_url(run, "/properties"), body, content_type="application/json")
    assert_error(response, 400, "BadRequest", "body")


def test_form_encoded_body_gets_told_to_send_json(api_client, run):
    response = api_client.post(run_url(run, "/properties"), {"properties": "x"})
    assert_error(response, 400, "BadRequest", "Content-Type: application/json")


def test_empty_body_where_one_is_required_is_400(api_client, run):
    response = api_client.post(run_url(run, "/properties"), "", content_type="application/json")
    assert_error(response, 400, "BadRequest", "a JSON object body is required")


@pytest.mark.parametrize(
    ("suffix", "body", "fragment"),
    [
        ("/properties", {"properties": {"lr": "0.1"}, "extra": 1}, "body.extra: Extra inputs"),
        ("/properties", {"properties": []}, "body.properties: Input should be a valid dict"),
        ("/properties", {"properties": {"lr": None}}, "body.properties.lr"),
        ("/properties", {"properties": {"lr": [1]}}, "body.properties.lr"),
        ("/tags", {"set": {"a": {"b": 1}}}, "body.set.a"),
        ("/tags", {"remove": "a"}, "body.remove: Input should be a valid list"),
        ("/tags", {"remove": [1]}, "body.remove.0: Input should be a valid string"),
        ("/cancel", {"immediate": "yes"}, "body.immediate: Input should be a valid boolean"),
        ("/status", {}, "body.status: Field required"),
        ("/status", {"status": 3}, "body.status: Input should be a valid string"),
        ("/children", {"count": "two"}, "body.count: Input should be a valid integer"),
        ("/fail", {"errorCode": 5}, "body.errorCode: Input should be a valid string"),
        # snake_case is not the API's spelling.
        ("/fail", {"error_code": "X"}, "body.error_code: Extra inputs"),
    ],
)
def test_wrong_types_name_the_field(api_client, run, suffix, body, fragment):
    method = "patch" if suffix == "/tags" else "post"
    response = getattr(api_client, f"{method}_json")(run_url(run, suffix), body)
    assert_error(response, 400, "BadRequest", fragment)


def test_many_problems_are_counted_not_all_listed(api_client, run):
    body = {"series": [{"name": "loss", "values": [None] * 10}]}
    error = assert_error(api_client.post_json(run_url(run, "/metrics"), body), 400, "BadRequest")
    assert error["message"].count("Input should be a valid number") == 3
    assert "and 7 more problems" in error["message"]


def test_body_over_the_request_limit_is_413(api_client, run, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"properties": {"notes": "x" * 2000}}
    response = api_client.post_json(run_url(run, "/properties"), body)
    assert_error(response, 413, "PayloadTooLarge")


@pytest.mark.parametrize(
    "path",
    ["/api/", "/api/nope", "/api/w/team/nothing", "/api/w/team/runs/x/y/z", "/api/workspaces/"],
)
def test_unknown_paths_are_json_404(api_client, workspace, path):
    assert_error(api_client.get(path), 404, "NotFound", "no API endpoint")


@pytest.mark.parametrize(
    ("method", "suffix", "allowed"),
    [("delete", "", "GET, PATCH"), ("get", "/complete", "POST"), ("put", "/tags", "PATCH")],
)
def test_wrong_method_is_json_405(api_client, run, method, suffix, allowed):
    response = getattr(api_client, method)(run_url(run, suffix))
    assert_error(response, 405, "MethodNotAllowed", method.upper())
    assert set(response["Allow"].split(", ")) == set(allowed.split(", "))


def test_a_server_fault_is_500_in_the_same_shape(api_client, run, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("runs.services.run_heartbeat", broken)
    error = assert_error(api_client.post(run_url(run, "/heartbeat")), 500, "ServerError")
    assert "disk on fire" not in error["message"]


def test_openapi_schema_lists_the_paths(api_client):
    response = api_client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/workspaces",
        "/api/w/{ws}/experiments",
        "/api/w/{ws}/runs",
        "/api/w/{ws}/runs/{run_id}",
        "/api/w/{ws}/runs/{run_id}/metrics",
        "/api/w/{ws}/runs/{run_id}/metrics/series",
        "/api/w/{ws}/runs/{run_id}/files",
        "/api/w/{ws}/runs/{run_id}/files/content",
        "/api/w/{ws}/runs/{run_id}/children",
        "/api/w/{ws}/runs/{run_id}/heartbeat",
    } <= paths
    document = schema["components"]["schemas"]["RunDocument"]
    assert {"runId", "parentRunId", "createdUtc", "submittedBy"} <= set(document["properties"])
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


def test_docs_page_is_served_without_a_cdn(reader_client):
    response = reader_client.get("/api/docs")
    assert response.status_code == 200
    assert b"/static/ninja/swagger-ui-bundle.js" in response.content
    assert b"/api/openapi.json" in response.content
