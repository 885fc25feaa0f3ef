"""Unpacking a submitted run's snapshot (.tar.gz) without trusting it.

Every entry is checked before anything is written: a relative path that stays in
the folder (no absolute path, no `..`), a regular file or a directory (no
symbolic or hard links, no devices or FIFOs), at most `max_files` entries and
`max_bytes` bytes in all, and no more than `max_ratio` times the archive's own
size (a compression bomb). Each refusal is a SnapshotRefused saying what and why,
which the worker records as the run's error.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

BLOCK = 1024 * 1024
# Small archives may expand a lot (a text file of repeated lines): the ratio applies past this.
RATIO_FLOOR = 1024 * 1024


class SnapshotRefused(Exception):
    """The snapshot is unsafe or over the caps; the message says which entry and why."""


@dataclass(frozen=True)
class Limits:
    max_files: int = 2000
    max_bytes: int = 100 * 1024 * 1024
    max_ratio: int = 100


def _target(dest: Path, name: str) -> Path:
    """Where entry `name` goes inside `dest`, or SnapshotRefused."""
    if not name or "\x00" in name:
        raise SnapshotRefused(f"entry {name!r} has no usable name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise SnapshotRefused(f"entry {name!r} is an absolute path")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise SnapshotRefused(f"entry {name!r} climbs out of the folder ('..')")
    clean = posixpath.normpath("/".join(p for p in parts if p not in ("", ".")))
    path = dest / clean if clean != "." else dest
    if path != dest and dest not in path.parents:
        raise SnapshotRefused(f"entry {name!r} lands outside the folder")
    return path


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a FIFO"
    return "not a regular file or directory"


def unpack(archive: Path, dest: Path, limits: Limits) -> int:
    """Unpack `archive` into the empty folder `dest`; returns the number of files."""
    compressed = max(archive.stat().st_size, 1)
    budget = max(limits.max_ratio * compressed, RATIO_FLOOR)
    files = entries = written = 0
    dest.mkdir(parents=True, exist_ok=True)
    dest = dest.resolve()
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                entries += 1
                if entries > limits.max_files:
                    raise SnapshotRefused(
                        f"the snapshot has more than {limits.max_files:,} entries"
                    )
                path = _target(dest, member.name)
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    raise SnapshotRefused(f"entry {member.name!r} is {_kind(member)}")
                if written + member.size > limits.max_bytes:
                    raise SnapshotRefused(
                        f"the snapshot unpacks to more than {limits.max_bytes:,} bytes "
                        f"(at {member.name!r})"
                    )
                if written + member.size > budget:
                    raise SnapshotRefused(
                        f"the snapshot expands more than {limits.max_ratio} times its "
                        f"{compressed:,} bytes (at {member.name!r}): a compression bomb"
                    )
                written += _write(tar, member, path)
                files += 1
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise SnapshotRefused(f"the snapshot is not a readable .tar.gz: {exc}") from None
    return files


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise SnapshotRefused(f"entry {member.name!r} cannot be read")
    mode = 0o755 if member.mode & 0o111 else 0o644
    # O_EXCL|O_NOFOLLOW: never through something already there (a second entry, a link).
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise SnapshotRefused(f"entry {member.name!r} appears twice") from None
    size = 0
    with os.fdopen(fd, "wb") as out, source:
        while block := source.read(BLOCK):
            size += len(block)
            if size > member.size:
                raise SnapshotRefused(f"entry {member.name!r} is longer than it says")
            out.write(block)
    return size
