"""File names the disk cannot hold are refused by name, before anything is stored:
a part longer than a file system allows, a file where a folder must go, a folder
where a file is. Each is a 400 naming the problem, and the run keeps its files."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from runs import services
from runs.exceptions import ValidationFailed
from runs.models import RunFile
from tests.api.helpers import assert_error, run_url


def upload(client, run, name: str, content: bytes = b"new"):
    return client.post(
        run_url(run, "/files"), {"file": SimpleUploadedFile("f", content), "name": name}
    )


def stored(run) -> dict[str, bytes]:
    return {rf.path: rf.file.open("rb").read() for rf in RunFile.objects.filter(run=run)}


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("a" * 256, "at most 200 bytes"),
        ("outputs/" + "b" * 300 + "/model.pt", "at most 200 bytes"),
        # 100 characters, 300 bytes in UTF-8.
        ("é" * 100 + "x" * 100, "at most 200 bytes"),
        ("a\x7fb", "control character"),
        ("a\x85b", "control character"),
        ("logs/std.txt.parts", "a growing log's parts"),
        ("logs/std.txt.parts/000000000000001", "a growing log's parts"),
    ],
)
def test_names_the_disk_cannot_hold_are_400(api_client, run, name, fragment):
    services.run_file_upload(run=run, path="keep.txt", content=ContentFile(b"kept"))
    assert_error(upload(api_client, run, name), 400, "ValidationError", fragment)
    assert stored(run) == {"keep.txt": b"kept"}


def test_a_part_of_200_bytes_is_stored(api_client, run):
    name = "outputs/" + "b" * 200
    assert upload(api_client, run, name).status_code == 201
    assert stored(run) == {name: b"new"}


@pytest.mark.parametrize(
    ("existing", "name", "fragment"),
    [
        ("dir", "dir/file", "'dir' is a file of this run"),
        ("a/b", "a/b/c/d.txt", "'a/b' is a file of this run"),
        ("dir/file", "dir", "the run has files in a folder 'dir'"),
        ("a/b/c.txt", "a", "the run has files in a folder 'a'"),
    ],
)
def test_a_file_and_a_folder_of_one_name_are_400(api_client, run, existing, name, fragment):
    services.run_file_upload(run=run, path=existing, content=ContentFile(b"old"))
    assert_error(upload(api_client, run, name), 400, "ValidationError", fragment)
    assert stored(run) == {existing: b"old"}


def test_names_that_only_start_alike_do_not_clash(api_client, run):
    services.run_file_upload(run=run, path="dir", content=ContentFile(b"1"))
    services.run_file_upload(run=run, path="Dir/x", content=ContentFile(b"2"))
    assert upload(api_client, run, "dir.txt/x").status_code == 201
    assert upload(api_client, run, "dirx").status_code == 201
    assert set(stored(run)) == {"dir", "Dir/x", "dir.txt/x", "dirx"}


def test_a_log_append_meets_the_same_rules(run):
    services.run_file_upload(run=run, path="logs", content=ContentFile(b"old"))
    with pytest.raises(ValidationFailed, match="'logs' is a file of this run"):
        services.run_file_append(run=run, path="logs/std.txt", data=b"x")
    assert stored(run) == {"logs": b"old"}


def test_a_clash_the_names_miss_is_still_a_400(api_client, run, settings):
    # A file on disk the database does not know (another process, a restore): the
    # storage's refusal is a 400 too, and the run keeps what it had.
    services.run_file_upload(run=run, path="keep.txt", content=ContentFile(b"kept"))
    folder = settings.MEDIA_ROOT / "runs" / str(run.workspace_id) / run.id / "output"
    (folder / "stray").write_bytes(b"")
    assert_error(upload(api_client, run, "stray/x"), 400, "ValidationError", "cannot store")
    assert stored(run) == {"keep.txt": b"kept"}
