"""Assertions shared by the API tests."""


def run_url(run, suffix: str = "") -> str:
    return f"/api/w/{run.workspace.slug}/runs/{run.id}{suffix}"


def assert_error(response, status: int, code: str, *fragments: str) -> dict:
    """The one error shape, with `status`, `code`, and a message containing `fragments`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    for fragment in fragments:
        assert fragment in body["error"]["message"], body["error"]["message"]
    return body["error"]


def call(client, method: str, path: str, body=None):
    """Send `body` as JSON (POST/PATCH), or as multipart when it is a `Multipart`."""
    if method == "get":
        return client.get(path)
    if isinstance(body, Multipart):
        return client.post(path, body.fields())
    return getattr(client, method)(
        path, {} if body is None else body, content_type="application/json"
    )


class Multipart:
    """A multipart upload body (a fresh file object each time it is sent)."""

    def __init__(self, name: str = "out/model.txt", content: bytes = b"weights", **extra):
        self.name = name
        self.content = content
        self.extra = extra

    def fields(self) -> dict:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return {
            "file": SimpleUploadedFile("model.txt", self.content),
            "name": self.name,
            **self.extra,
        }


# Every operation on one run, with a body that is valid for it: (method, path suffix, body).
RUN_OPERATIONS = [
    ("get", "", None),
    ("patch", "", {"displayName": "renamed"}),
    ("post", "/status", {"status": "Finalizing"}),
    ("post", "/complete", {}),
    ("post", "/fail", {"errorCode": "Boom"}),
    ("post", "/cancel", {}),
    ("patch", "/tags", {"set": {"quality": "great"}}),
    ("post", "/properties", {"properties": {"lr": "0.1"}}),
    ("post", "/metrics", {"series": [{"name": "loss", "values": [0.5]}]}),
    ("get", "/metrics", None),
    ("get", "/metrics/series?name=loss", None),
    ("post", "/children", {"count": 1}),
    ("get", "/children", None),
    ("post", "/heartbeat", {}),
    ("get", "/files", None),
    ("get", "/files/content?name=notes.txt", None),
    ("post", "/files", Multipart()),
]
RUN_READS = [op for op in RUN_OPERATIONS if op[0] == "get"]
RUN_WRITES = [op for op in RUN_OPERATIONS if op[0] != "get"]

# Operations on the workspace as a whole: (method, path suffix after /api/w/<ws>, body).
WORKSPACE_OPERATIONS = [
    ("get", "/experiments", None),
    ("post", "/experiments", {"name": "fresh"}),
    ("get", "/runs", None),
    ("post", "/runs", {"experiment": "fresh"}),
]


def op_id(op) -> str:
    return f"{op[0].upper()} {op[1] or '/'}"
