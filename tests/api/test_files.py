"""Run files: upload (multipart), list, download from an offset; path safety and size cap."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from runs import services
from runs.models import RunFile
from tests.api.helpers import assert_error, run_url


def upload(client, run, content: bytes = b"weights", **fields):
    data = {"file": SimpleUploadedFile("local.bin", content), **fields}
    return client.post(run_url(run, "/files"), data)


def content(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def test_upload_list_download(api_client, run):
    response = upload(api_client, run, b"0123456789", name="outputs/model.pt")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"name", "kind", "size", "updated"}
    assert (body["name"], body["kind"], body["size"]) == ("outputs/model.pt", "output", 10)
    assert body["updated"].endswith("Z")
    listed = api_client.get(run_url(run, "/files")).json()
    assert listed == {"files": [body]}
    got = api_client.get(run_url(run, "/files/content?name=outputs/model.pt"))
    assert content(got) == b"0123456789"
    assert got["Content-Length"] == "10"
    assert got["X-File-Size"] == "10"
    assert 'filename="model.pt"' in got["Content-Disposition"]


@pytest.mark.parametrize("name", ["»®", 'outputs/">', "=\u00bb\u00ae"])
def test_a_name_the_storage_keeps_nothing_of_is_still_stored(api_client, run, name):
    """The storage keeps only safe characters of a file's name; the run keeps the name."""
    response = upload(api_client, run, b"x", name=name)
    assert response.status_code == 201, response.content
    got = api_client.get(run_url(run, "/files/content"), {"name": response.json()["name"]})
    assert content(got) == b"x"


def test_upload_without_a_name_uses_the_file_name(api_client, run):
    assert upload(api_client, run).json()["name"] == "local.bin"


def test_upload_a_log_and_replace_it(api_client, run):
    upload(api_client, run, b"first", name="logs/std.txt", kind="log")
    response = upload(api_client, run, b"second!", name="logs/std.txt", kind="log")
    assert (response.json()["kind"], response.json()["size"]) == ("log", 7)
    assert RunFile.objects.filter(run=run).count() == 1
    assert content(api_client.get(run_url(run, "/files/content?name=logs/std.txt"))) == b"second!"


def test_download_from_an_offset_tails_a_log(api_client, run):
    services.run_file_append(run=run, path="logs/out.txt", data=b"line 1\n")
    url = run_url(run, "/files/content?name=logs/out.txt")
    first = api_client.get(url)
    assert content(first) == b"line 1\n"
    offset = int(first["X-File-Size"])
    services.run_file_append(run=run, path="logs/out.txt", data=b"line 2\n")
    assert content(api_client.get(f"{url}&offset={offset}")) == b"line 2\n"
    # Past the end: nothing yet, and the size says where the end is.
    past = api_client.get(f"{url}&offset=1000")
    assert content(past) == b""
    assert past["X-File-Size"] == "14"


def test_download_name_is_normalised(api_client, run):
    services.run_file_upload(run=run, path="a/b.txt", content=ContentFile(b"x"))
    assert content(api_client.get(run_url(run, "/files/content?name=a//b.txt"))) == b"x"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../x", "relative path without '..'"),
        ("a/../../x", "relative path without '..'"),
        ("/etc/passwd", "relative path without '..'"),
        ("..", "relative path without '..'"),
        (".", "relative path without '..'"),
        ("   ", "needs a name"),
        ("a\x01b", "control character"),
        ("n" * 501, "limit is 500"),
    ],
)
def test_unsafe_upload_names_are_400(api_client, run, name, fragment):
    assert_error(upload(api_client, run, name=name), 400, "ValidationError", fragment)
    assert not RunFile.objects.exists()


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../../x", ""])
def test_unsafe_download_names_are_400(api_client, run, name):
    response = api_client.get(run_url(run, "/files/content"), {"name": name})
    assert_error(response, 400, "ValidationError")


@pytest.mark.parametrize(
    ("fields", "code", "fragment"),
    [
        ({"kind": "binary"}, "ValidationError", "file kind must be one of log, output"),
        ({"kind": ""}, "ValidationError", "file kind"),
    ],
)
def test_upload_bad_fields(api_client, run, fields, code, fragment):
    assert_error(upload(api_client, run, **fields), 400, code, fragment)


def test_upload_without_a_file_is_400(api_client, run):
    response = api_client.post(run_url(run, "/files"), {"name": "x.txt"})
    assert_error(response, 400, "BadRequest", "file: required, as a part of a multipart/form-data")


def test_upload_as_json_is_400(api_client, run):
    response = api_client.post_json(run_url(run, "/files"), {"name": "x.txt"})
    assert_error(response, 400, "BadRequest", "multipart/form-data")


def test_upload_over_the_limit_is_413(api_client, run, settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 100
    assert upload(api_client, run, b"x" * 100, name="ok.bin").status_code == 201
    response = upload(api_client, run, b"x" * 101, name="big.bin")
    assert_error(response, 413, "PayloadTooLarge", "101 bytes", "limit is 100 bytes")
    assert not RunFile.objects.filter(path="big.bin").exists()


def test_upload_declared_too_large_is_refused_before_reading(api_client, run, settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 100
    response = api_client.post(
        run_url(run, "/files"),
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(10 * 1024 * 1024),
    )
    assert_error(response, 413, "PayloadTooLarge", "10,485,760 bytes")


@pytest.mark.parametrize(
    ("qs", "status", "code", "fragment"),
    [
        ("", 400, "BadRequest", "query.name: Field required"),
        ("?name=missing.txt", 404, "NotFound", "no file 'missing.txt'"),
        ("?name=a.txt&offset=-1", 400, "BadRequest", "query.offset"),
        ("?name=a.txt&offset=x", 400, "BadRequest", "query.offset"),
        ("?name=a.txt&offset=99999999999999999999", 400, "BadRequest", "query.offset"),
    ],
)
def test_download_bad_input(api_client, run, qs, status, code, fragment):
    services.run_file_upload(run=run, path="a.txt", content=ContentFile(b"x"))
    response = api_client.get(run_url(run, f"/files/content{qs}"))
    assert_error(response, status, code, fragment)


def test_file_missing_from_storage_is_404(api_client, run):
    rf = services.run_file_upload(run=run, path="gone.txt", content=ContentFile(b"x"))
    rf.file.storage.delete(rf.file.name)
    response = api_client.get(run_url(run, "/files/content?name=gone.txt"))
    assert_error(response, 404, "NotFound", "missing from storage")


def test_files_of_another_run_are_not_reachable(api_client, run, experiment):
    from tests.factories import RunFactory

    other = RunFactory(experiment=experiment)
    services.run_file_upload(run=other, path="secret.txt", content=ContentFile(b"x"))
    response = api_client.get(run_url(run, "/files/content?name=secret.txt"))
    assert_error(response, 404, "NotFound")
    assert api_client.get(run_url(run, "/files")).json() == {"files": []}
