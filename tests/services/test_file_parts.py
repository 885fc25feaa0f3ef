"""Logs grow by parts (new stored objects), read back as one file."""

import io

import pytest
from django.core.files.base import ContentFile

from runs import selectors, services
from runs.file_content import open_run_file
from runs.models import RunFilePart
from runs.services.files import MAX_PARTS
from tests.factories import RunFactory


@pytest.fixture
def run(db):
    return RunFactory()


def test_appends_are_parts_read_back_in_order(run):
    pieces = [b"first line\n", b"second ", "third \N{SNOWMAN}\n".encode(), b""]
    for piece in pieces:
        rf = services.run_file_append(run=run, path="logs/std.txt", data=piece)
    assert rf.size == sum(map(len, pieces))
    assert RunFilePart.objects.filter(run_file=rf).count() == 2  # the first is the file
    with open_run_file(rf) as fh:
        assert fh.read() == b"".join(pieces)
        fh.seek(6)
        assert fh.read(10) == b"line\nsecon"
        fh.seek(-4, io.SEEK_END)
        assert fh.read() == "\N{SNOWMAN}\n".encode()[-4:]
    tail = selectors.run_log_tail(run_file=rf, max_bytes=19)  # from a line boundary
    assert (tail.text, tail.start) == ("second third \N{SNOWMAN}\n", 11)
    chunk = selectors.run_log_chunk(run_file=rf, offset=11, max_bytes=9)
    assert (chunk.text, chunk.end) == ("second th", 20)


def test_many_parts_are_merged_into_one_object(run):
    data = [f"line {i}\n".encode() for i in range(MAX_PARTS + 3)]
    for piece in data:
        rf = services.run_file_append(run=run, path="log.txt", data=piece)
    parts = RunFilePart.objects.filter(run_file=rf).count()
    assert parts < MAX_PARTS
    with open_run_file(rf) as fh:
        assert fh.read() == b"".join(data)
    storage = rf.file.storage
    folder = rf.file.name.rsplit("/", 1)[0]
    # Only the merged file and the parts written since remain in storage.
    assert len(storage.listdir(folder)[1]) == 1
    assert rf.size == sum(map(len, data))


def test_replacing_a_log_drops_its_parts(run):
    for piece in (b"a", b"b", b"c"):
        services.run_file_append(run=run, path="log.txt", data=piece)
    rf = services.run_file_upload(run=run, path="log.txt", content=ContentFile(b"fresh"))
    assert not RunFilePart.objects.exists()
    with open_run_file(rf) as fh:
        assert fh.read() == b"fresh"
