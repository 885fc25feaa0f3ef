"""The production pieces, for real: gunicorn serving the studio with WhiteNoise's static
files, and run files in an S3-compatible object store (moto's server on loopback)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.files.base import ContentFile

from runs import selectors, services
from runs.models import RunFile, RunFilePart
from tests.factories import RunFactory

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{url} did not come up") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# ---- gunicorn + WhiteNoise --------------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "serving-test-secret-key-not-for-production-use-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{scratch / 'studio.sqlite3'}",
        "STUDIO_DATA_DIR": str(scratch),
        "STATIC_ROOT": str(scratch / "static"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESS_LOG": "",
    }
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
        )
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "studio/gunicorn.py", "studio.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/accounts/login/", process)
        yield url, process
    finally:
        stop(process)


def test_gunicorn_runs_the_workers_the_environment_asks_for(gunicorn_server):
    _, process = gunicorn_server
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert len(children) == 2


def test_pages_link_hashed_static_files_served_compressed_and_cached(gunicorn_server):
    url, _ = gunicorn_server
    page = requests.get(url + "/accounts/login/", timeout=10)
    assert page.status_code == 200
    hashed = re.findall(r"/static/([\w/.-]+\.[0-9a-f]{12}\.css)", page.text)
    assert hashed, "the page links no hashed stylesheet"
    css = requests.get(f"{url}/static/{hashed[0]}", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Encoding"] == "gzip"
    assert "immutable" in css.headers["Cache-Control"]
    assert requests.get(f"{url}/static/nope.css", timeout=10).status_code == 404


def test_the_api_answers_behind_gunicorn(gunicorn_server):
    url, _ = gunicorn_server
    response = requests.get(url + "/api/w/none/runs", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"]


# ---- S3-compatible storage ----------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint():
    pytest.importorskip("moto")
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/moto-api/", process)
        yield url
    finally:
        stop(process)


@pytest.fixture
def s3_storage(s3_endpoint, settings, monkeypatch, request):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50]
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "location": "studio",
                "default_acl": None,
            },
        },
    }
    # FileField keeps the storage it was built with: point it at the new default.
    from django.core.files.storage import default_storage

    field = RunFile._meta.get_field("file")
    monkeypatch.setattr(field, "storage", default_storage)
    return client, bucket


def keys(client, bucket: str) -> list[str]:
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_run_files_and_growing_logs_live_in_the_object_store(s3_storage, api_client, workspace):
    client, bucket = s3_storage
    run = RunFactory(experiment__workspace=workspace)
    rf = services.run_file_upload(
        run=run, path="outputs/model.txt", content=ContentFile(b"weights")
    )
    for line in (b"epoch 1\n", b"epoch 2\n", b"done\n"):
        log = services.run_file_append(run=run, path="logs/std.txt", data=line)
    stored = keys(client, bucket)
    prefix = f"studio/runs/{workspace.pk}/{run.pk}"
    assert f"{prefix}/output/outputs/model.txt" in stored
    assert f"{prefix}/log/logs/std.txt" in stored
    # Two appends after the first write: two more objects, nothing rewritten in place.
    assert len([k for k in stored if ".parts/" in k]) == 2
    assert RunFilePart.objects.filter(run_file=log).count() == 2
    assert rf.file.name in [k.removeprefix("studio/") for k in stored]

    base = f"/api/w/{workspace.slug}/runs/{run.pk}/files/content?name="
    assert api_client.get(base + "outputs/model.txt").getvalue() == b"weights"
    whole = api_client.get(base + "logs/std.txt")
    assert whole.getvalue() == b"epoch 1\nepoch 2\ndone\n"
    assert whole["X-File-Size"] == "21"
    assert api_client.get(base + "logs/std.txt&offset=8").getvalue() == b"epoch 2\ndone\n"
    tail = selectors.run_log_tail(run_file=log, max_bytes=10)
    assert tail.text == "done\n"
