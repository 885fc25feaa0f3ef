"""The sender as a Celery task: a real worker process against Redis delivers to a real
SMTP server, queued by the status change itself when STUDIO_NOTIFY_CELERY is on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from runs import services
from runs.models import Notification
from studio.celery import app
from tests.factories import ExperimentFactory, RunFactory, UserFactory
from tests.notifications.conftest import rule

ROOT = Path(__file__).resolve().parents[2]


def _redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(smtp, transactional_db) -> Iterator[str]:
    """`celery -A studio worker` on a queue of its own, on the test database; its queue."""
    broker = django_settings.CELERY_BROKER_URL
    if not _redis_up(broker):
        pytest.skip(f"Redis is not reachable at {broker}")
    queue = f"notify-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "DEFAULT_FROM_EMAIL": "studio@example.com",
        "STUDIO_BASE_URL": "https://studio.example.com",
        "CONN_MAX_AGE": "0",
    }
    command = [sys.executable, "-m", "celery", "-A", "studio", "worker", "--pool", "solo"]
    command += ["-Q", queue, "--without-mingle", "--without-gossip", "--loglevel", "WARNING"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_celery_worker_sends_what_the_status_change_queued(worker, smtp, workspace, settings):
    owner = UserFactory(username="olga", email="olga@example.com")
    workspace.memberships.create(user=owner, role="owner")
    rule(workspace, owner, on_failed=True, emails=["ops@example.com"])
    settings.STUDIO_NOTIFY_CELERY = True
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = worker
    try:
        services.run_fail(run=RunFactory(experiment=ExperimentFactory(workspace=workspace)))
    finally:
        app.conf.task_default_queue = previous
    assert _wait_for(lambda: len(smtp.inbox.envelopes) == 1), "the worker sent nothing"
    assert _wait_for(lambda: Notification.objects.filter(state="sent").count() == 1)
    [message] = smtp.inbox.messages
    assert message["To"] == "ops@example.com"
    assert "Failed" in message["Subject"]


def test_the_periodic_task_sends_what_is_due(worker, smtp, workspace):
    owner = UserFactory(username="olga", email="olga@example.com")
    rule(workspace, owner, scope="personal", on_completed=True)
    workspace.memberships.create(user=owner, role="owner")
    services.run_complete(run=RunFactory(experiment=ExperimentFactory(workspace=workspace)))
    app.send_task("runs.notifications.tick", queue=worker)
    assert _wait_for(lambda: len(smtp.inbox.envelopes) == 1), "the worker sent nothing"
    assert smtp.inbox.envelopes[0].rcpt_tos == ["olga@example.com"]
