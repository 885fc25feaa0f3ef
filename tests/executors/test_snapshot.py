"""Unpacking snapshots safely: hostile archives are refused with a clear message and leave
nothing outside the folder."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from runs.executors.snapshot import Limits, SnapshotRefused, unpack


def archive(tmp_path: Path, *members: tarfile.TarInfo | tuple[str, bytes]) -> Path:
    path = tmp_path / "snapshot.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            if isinstance(member, tuple):
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(member)
    return path


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def test_a_plain_snapshot_unpacks(tmp_path):
    dest = tmp_path / "out"
    path = archive(tmp_path, ("train.py", b"print(1)\n"), ("pkg/util.py", b"x = 1\n"))
    assert unpack(path, dest, Limits()) == 2
    assert (dest / "train.py").read_text() == "print(1)\n"
    assert (dest / "pkg" / "util.py").read_text() == "x = 1\n"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("../escape.py", b"x")], "entry '../escape.py' climbs out of the folder ('..')"),
        ([("a/../../escape.py", b"x")], "climbs out of the folder"),
        ([("/etc/passwd", b"x")], "entry '/etc/passwd' is an absolute path"),
        ([special("link", tarfile.SYMTYPE, "/etc/passwd")], "a symbolic link (to '/etc/passwd')"),
        ([special("rel", tarfile.SYMTYPE, "../../x")], "is a symbolic link"),
        ([("a.py", b"x"), special("hard", tarfile.LNKTYPE, "a.py")], "a hard link (to 'a.py')"),
        ([special("null", tarfile.CHRTYPE)], "entry 'null' is a device"),
        ([special("disk", tarfile.BLKTYPE)], "is a device"),
        ([special("pipe", tarfile.FIFOTYPE)], "entry 'pipe' is a FIFO"),
        ([("a.py", b"x"), ("a.py", b"y")], "entry 'a.py' appears twice"),
        ([(f"f{i}.py", b"x") for i in range(4)], "more than 3 entries"),
        ([("big.bin", b"x" * 5000)], "unpacks to more than 4,096 bytes"),
    ],
)
def test_hostile_snapshots_are_refused(tmp_path, members, message):
    dest = tmp_path / "out"
    path = archive(tmp_path, *members)
    with pytest.raises(SnapshotRefused) as info:
        unpack(path, dest, Limits(max_files=3, max_bytes=4096, max_ratio=100))
    assert message in str(info.value)
    assert not (tmp_path / "escape.py").exists()
    assert not any(p.is_symlink() for p in dest.rglob("*"))


def test_a_compression_bomb_is_refused_before_it_is_written(tmp_path):
    # 50 MB of zeros compress to ~50 KB: a thousand times the archive's size.
    path = archive(tmp_path, ("zeros.bin", bytes(50 * 1024 * 1024)))
    assert path.stat().st_size < 100 * 1024
    with pytest.raises(SnapshotRefused, match="expands more than 100 times .* compression bomb"):
        unpack(path, tmp_path / "out", Limits(max_bytes=10**9, max_ratio=100))
    assert not (tmp_path / "out" / "zeros.bin").exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"not an archive", gzip.compress(b"not a tar inside", mtime=0)],
)
def test_what_is_not_a_tar_gz_is_refused(tmp_path, content):
    path = tmp_path / "snapshot.tar.gz"
    path.write_bytes(content)
    with pytest.raises(SnapshotRefused, match="not a readable .tar.gz"):
        unpack(path, tmp_path / "out", Limits())
