"""Delivery to a webhook: a JSON POST with a Slack-compatible `text` and the run
documents, to a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runs import services
from runs.models import Notification
from runs.notifications.sender import notifications_send_due
from tests.factories import RunFactory, TagFactory
from tests.notifications.conftest import later, rule


class Hook:
    """An HTTP server on 127.0.0.1 (an ephemeral port) recording POSTs; answers `status`."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.headers: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                hook.headers.append(dict(self.headers))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok" if hook.status < 300 else b"no_service")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook(settings) -> Iterator[Hook]:
    settings.STUDIO_BASE_URL = "https://studio.example.com"
    # Webhooks reach public addresses only; the test's server is on loopback.
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Hook()
    yield server
    server.close()


def test_a_webhook_gets_slack_text_and_the_run_document(hook, workspace, owner, experiment):
    rule(workspace, owner, name="to slack", on_failed=True, webhook=hook.url)
    run = RunFactory(experiment=experiment, display_name="a <b> & c")
    TagFactory(run=run, key="team", value="vision")
    services.run_fail(run=run, error_code="OOM", message="out of <memory>")

    assert notifications_send_due().sent == 1

    [body] = hook.received
    assert body["text"].startswith("*[team] mnist: a &lt;b&gt; &amp; c")
    assert f"<https://studio.example.com/w/team/runs/{run.pk}/|Open in the studio>" in body["text"]
    assert "out of &lt;memory&gt;" in body["text"]
    assert body["event"] == "status"
    assert body["status"] == "Failed"
    assert body["rule"]["name"] == "to slack"
    document = body["run"]
    assert document["runId"] == run.pk
    assert document["status"] == "Failed"
    assert document["tags"] == {"team": "vision"}
    assert document["error"] == {"code": "OOM", "message": "out of <memory>"}
    assert document["url"] == f"https://studio.example.com/w/team/runs/{run.pk}/"
    assert body["runs"] == [document]
    assert hook.headers[0]["Content-Type"] == "application/json"


def test_a_grouped_webhook_lists_the_runs(hook, workspace, owner, experiment):
    rule(workspace, owner, on_failed=True, webhook=hook.url)
    sweep = RunFactory(experiment=experiment)
    for child in services.run_create_children(parent=sweep, count=5):
        services.run_fail(run=child)
    notifications_send_due(now=later(61))
    [body] = hook.received
    assert body["runCount"] == 5
    assert len(body["runs"]) == 5
    assert "5 runs under" in body["text"]


def test_a_webhook_answering_5xx_is_retried(hook, workspace, owner, experiment):
    hook.status = 503
    rule(workspace, owner, on_failed=True, webhook=hook.url)
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().retrying == 1
    row = Notification.objects.get()
    assert row.state == "pending"
    assert "HTTP 503" in row.last_error
    hook.status = 200
    assert notifications_send_due(now=later(10)).sent == 1
    assert len(hook.received) == 2  # the refused try, then the delivery


def test_a_webhook_answering_404_is_failed_without_retrying(hook, workspace, owner, experiment):
    hook.status = 404
    rule(workspace, owner, on_failed=True, webhook=hook.url)
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().failed == 1
    row = Notification.objects.get()
    assert row.state == "failed"
    assert row.last_error == "the webhook answered HTTP 404: no_service"


def test_an_unreachable_webhook_is_retried(settings, workspace, owner, experiment):
    settings.STUDIO_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    from tests.notifications.conftest import free_port

    rule(workspace, owner, on_failed=True, webhook=f"http://127.0.0.1:{free_port()}/hook")
    services.run_fail(run=RunFactory(experiment=experiment))
    assert notifications_send_due().retrying == 1
    assert Notification.objects.get().last_error
