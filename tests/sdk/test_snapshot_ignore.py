"""`.studioignore` (gitignore syntax) and the snapshot's caps."""

from __future__ import annotations

import tarfile

import pytest

from runs.sdk import SnapshotError
from runs.sdk.ignore import Ignore, parse
from runs.sdk.snapshot import build, collect


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "ignored"),
    [
        (["*.log"], "train.log", False, True),
        (["*.log"], "logs/deep/train.log", False, True),
        (["*.log"], "train.py", False, False),
        (["data/"], "data", True, True),
        (["data/"], "data", False, False),  # a file named data: a dir-only pattern skips it
        (["data/"], "src/data", True, True),
        (["/data"], "src/data", True, False),  # anchored
        (["/data"], "data", True, True),
        (["src/*.tmp"], "src/a.tmp", False, True),
        (["src/*.tmp"], "src/deep/a.tmp", False, False),
        (["**/cache"], "a/b/cache", True, True),
        (["logs/**"], "logs/a/b.txt", False, True),
        (["a/**/z"], "a/z", False, True),
        (["a/**/z"], "a/b/c/z", False, True),
        (["*.log", "!keep.log"], "keep.log", False, False),
        (["file?.txt"], "file1.txt", False, True),
        (["file?.txt"], "file10.txt", False, False),
        (["[abc].py"], "b.py", False, True),
        (["[!abc].py"], "b.py", False, False),
        (["# comment", ""], "# comment", False, False),
        (["\\#hash"], "#hash", False, True),
        (["trailing   "], "trailing", False, True),
    ],
)
def test_gitignore_patterns(patterns, path, is_dir, ignored):
    assert Ignore(parse(patterns)).ignored(path, is_dir=is_dir) is ignored


def test_snapshot_honours_studioignore_and_leaves_secrets_out(tmp_path):
    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "outputs").mkdir()
    (src / ".studio").mkdir()
    (src / "train.py").write_text("print(1)")
    (src / "data" / "set.csv").write_text("a,b")
    (src / "outputs" / "model.pt").write_text("weights")
    (src / "outputs" / "keep.txt").write_text("kept")
    (src / ".studio" / "config.json").write_text('{"token": "secret"}')
    (src / ".studioignore").write_text("data/\noutputs/*\n!outputs/keep.txt\n")
    with build(src) as fh, tarfile.open(fileobj=fh) as tar:
        names = sorted(tar.getnames())
    assert names == [".studioignore", "outputs/keep.txt", "train.py"]


def test_a_folder_over_the_caps_is_refused_naming_the_largest_files(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x" * 3000)
    (tmp_path / "train.py").write_text("print(1)")
    with pytest.raises(SnapshotError) as info:
        collect(tmp_path, max_bytes=2000)
    message = str(info.value)
    assert "3,008 bytes to upload; the limits are 2,000 files and 2,000 bytes" in message
    assert "weights.bin (3,000 bytes)" in message
    assert ".studioignore" in message
    with pytest.raises(SnapshotError, match="2 files .* the limits are 1 files"):
        collect(tmp_path, max_files=1)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(SnapshotError, match="is not a directory"):
        collect(tmp_path / "nope")
