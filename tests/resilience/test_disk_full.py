"""A full disk during an upload or a log append: a clear 507, the run and its data intact.

The files go to a small tmpfs where this process may mount one (root), otherwise to
a storage whose writes fail with ENOSPC, as a full disk's do.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from runs import services
from runs.models import RunFile
from runs.services import SeriesIn
from tests.factories import ExperimentFactory, RunFactory

TMPFS_BYTES = 256 * 1024


class FullStorage(FileSystemStorage):
    """A file system storage on a disk with no space left."""

    def _save(self, name, content):
        raise OSError(errno.ENOSPC, "No space left on device")


@contextlib.contextmanager
def _tmpfs(path: Path) -> Iterator[bool]:
    path.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", str(path)], check=False)


@pytest.fixture
def full_disk(settings, tmp_path) -> Iterator[str]:
    with _tmpfs(tmp_path / "small") as mounted:
        settings.MEDIA_ROOT = tmp_path / "small"
        if not mounted:
            settings.STORAGES = {
                **settings.STORAGES,
                "default": {"BACKEND": f"{__name__}.FullStorage"},
            }
        yield "tmpfs" if mounted else "storage"


@pytest.fixture
def run(workspace):
    return RunFactory(experiment=ExperimentFactory(workspace=workspace, name="mnist"))


def _upload(api_client, run, name: str, size: int):
    url = f"/api/w/team/runs/{run.pk}/files"
    data = {"file": _file(name, size), "name": name}
    return api_client.post(url, data)


def _file(name: str, size: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"x" * size)


def test_an_upload_to_a_full_disk_is_a_507_and_the_run_is_intact(api_client, run, full_disk):
    services.metric_log_batch(run=run, series=[SeriesIn("loss", [1.0, 0.5])])
    small = 1024 if full_disk == "tmpfs" else 0
    if small:
        assert _upload(api_client, run, "outputs/small.txt", small).status_code == 201
    response = _upload(api_client, run, "outputs/model.pt", 2 * TMPFS_BYTES)
    assert response.status_code == 507, response.content
    error = response.json()["error"]
    assert error["code"] == "InsufficientStorage"
    assert "no space left" in error["message"].lower()
    # Nothing half-written is listed; what was there still is; the run goes on.
    assert not RunFile.objects.filter(run=run, path="outputs/model.pt").exists()
    assert RunFile.objects.filter(run=run).count() == (1 if small else 0)
    detail = api_client.get(f"/api/w/team/runs/{run.pk}").json()
    assert detail["status"] == "Running"
    assert detail["metrics"] == {"loss": 0.5}
    batch = {"series": [{"name": "loss", "values": [0.25]}]}
    assert api_client.post_json(f"/api/w/team/runs/{run.pk}/metrics", batch).status_code == 200


def test_a_log_append_to_a_full_disk_is_a_507_and_keeps_the_log_as_it_was(
    api_client, run, full_disk
):
    url = f"/api/w/team/runs/{run.pk}/logs?name=logs/std_log.txt&offset="
    first = b"epoch 1\n" if full_disk == "tmpfs" else b""
    if first:
        assert api_client.post(url + "0", first, content_type="text/plain").status_code == 200
    big = b"x" * (2 * TMPFS_BYTES)
    response = api_client.post(url + str(len(first)), big, content_type="text/plain")
    assert response.status_code == 507, response.content
    assert response.json()["error"]["code"] == "InsufficientStorage"
    assert api_client.get(f"/api/w/team/runs/{run.pk}").json()["status"] == "Running"
    if first:
        # No half-written tail: the retry after space is freed appends from the same offset.
        content = api_client.get(f"/api/w/team/runs/{run.pk}/files/content?name=logs/std_log.txt")
        assert b"".join(content.streaming_content) == first
