"""The snapshot of a source folder that `exp.submit()` uploads: a .tar.gz of its files.

Files matched by `.studioignore` (gitignore syntax, runs.sdk.ignore) stay out, and
so do `.git/`, `.studio/` (its config may hold a token) and Python's caches. A
folder over the caps (MAX_FILES files, MAX_BYTES bytes) is refused with the
largest entries named, before anything is uploaded. Symbolic links to files are
stored as the files they point to; links to directories are skipped.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runs.sdk.errors import StudioError
from runs.sdk.ignore import IGNORE_FILE, Ignore

MAX_FILES = 2000
MAX_BYTES = 100 * 1024 * 1024


class SnapshotError(StudioError):
    """The source folder cannot be snapshotted (missing, over the caps)."""

    default_code = "SnapshotError"


@dataclass(frozen=True)
class Entry:
    path: Path
    name: str  # relative, with '/'
    size: int


def collect(folder: Path, *, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> list[Entry]:
    """The files of `folder` that go into its snapshot, checked against the caps."""
    if not folder.is_dir():
        raise SnapshotError(f"source_directory {str(folder)!r} is not a directory")
    ignore = Ignore.for_folder(folder)
    entries: list[Entry] = []
    for top, dirs, files in os.walk(folder):
        rel_top = Path(top).relative_to(folder).as_posix()
        rel_top = "" if rel_top == "." else rel_top + "/"
        dirs[:] = sorted(
            d
            for d in dirs
            if not os.path.islink(os.path.join(top, d))
            and not ignore.ignored(rel_top + d, is_dir=True)
        )
        for name in sorted(files):
            rel = rel_top + name
            path = Path(top, name)
            if ignore.ignored(rel, is_dir=False) or not path.is_file():
                continue
            entries.append(Entry(path, rel, path.stat().st_size))
    total = sum(e.size for e in entries)
    if len(entries) > max_files or total > max_bytes:
        biggest = sorted(entries, key=lambda e: -e.size)[:3]
        named = ", ".join(f"{e.name} ({e.size:,} bytes)" for e in biggest)
        raise SnapshotError(
            f"the source folder {str(folder)!r} has {len(entries):,} files and {total:,} bytes "
            f"to upload; the limits are {max_files:,} files and {max_bytes:,} bytes. "
            f"Largest: {named}. Leave data and outputs out with a {IGNORE_FILE} file "
            "(gitignore syntax) in that folder"
        )
    return entries


def build(folder: str | os.PathLike, **caps: int) -> io.BufferedRandom:
    """A temporary file holding the folder's snapshot (.tar.gz), positioned at its start."""
    entries = collect(Path(folder).resolve(), **caps)
    out = tempfile.TemporaryFile(suffix=".tar.gz")  # noqa: SIM115 - handed to the caller
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=6) as tar:
        for entry in entries:
            info = tar.gettarinfo(str(entry.path), arcname=entry.name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if not info.isfile():
                # A symbolic link, read as the file it points to.
                info = tarfile.TarInfo(entry.name)
                info.size = entry.size
                info.mode = 0o644
            with open(entry.path, "rb") as fh:
                tar.addfile(info, fh)
    out.seek(0)
    return out
