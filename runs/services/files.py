"""Run files (outputs and logs), stored through Django's storage API."""

from __future__ import annotations

import contextlib
import errno
import posixpath
from collections.abc import Iterator

from django.core.files.base import ContentFile, File
from django.db import models, transaction
from django.utils import timezone

from runs.exceptions import StorageFull, ValidationFailed
from runs.file_content import open_run_file
from runs.models import Run, RunFile, RunFilePart, one_or_none
from runs.text import check_text

MAX_PATH = 500
# Appended parts a file keeps before they are merged into one stored object.
MAX_PARTS = 64
# Bytes (UTF-8) in one part of a path. File systems hold 255 in a name; the storage may
# add a suffix to a name in use (`_<7 characters>`), and stored parts of a growing log
# one of their own, so a part stays well below.
MAX_PART_BYTES = 200
# A growing log's parts are stored in a folder named after it with this ending.
PARTS_SUFFIX = ".parts"
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def _space_for(path: str) -> Iterator[None]:
    """A full disk (or quota) while writing `path` is StorageFull (507), not a 500."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            raise
        raise StorageFull(
            f"no space left on the studio's file storage to write {path!r}: nothing was "
            "stored; ask the studio's administrator to free space"
        ) from None


def clean_path(path: str) -> str:
    """A safe relative POSIX path inside the run ("outputs/model.pt"), or ValidationFailed."""
    if not isinstance(path, str) or not path.strip():
        raise ValidationFailed("a file needs a name")
    raw = path.strip().replace("\\", "/")
    norm = posixpath.normpath(raw).lstrip("/")
    parts = norm.split("/")
    if raw.startswith("/") or any(p in ("..", "") for p in parts) or norm == ".":
        raise ValidationFailed(f"file name {path!r} must be a relative path without '..'")
    if len(norm) > MAX_PATH:
        raise ValidationFailed(f"file name is {len(norm)} characters; the limit is {MAX_PATH}")
    check_text(norm, what=f"file name {path!r}")
    for part in parts:
        if len(part.encode()) > MAX_PART_BYTES:
            raise ValidationFailed(
                f"file name {path!r}: each part of a path may be at most {MAX_PART_BYTES} "
                f"bytes (UTF-8); {part[:40]!r}… is {len(part.encode())}"
            )
        if part.endswith(PARTS_SUFFIX):
            raise ValidationFailed(
                f"file name {path!r}: a name ending in {PARTS_SUFFIX!r} is where the studio "
                "keeps a growing log's parts"
            )
    return norm


def _refuse_clash(run: Run, path: str) -> None:
    """A file and a folder of one name cannot both be: `dir/file` once `dir` is a file,
    or `dir` once files are in `dir/`. Decided by the run's file names, not by the disk."""
    parts = path.split("/")
    folders = ["/".join(parts[:i]) for i in range(1, len(parts))]
    inside = path + "/"
    # `startswith` is case-insensitive on SQLite: the names found are compared again.
    names = RunFile.objects.filter(
        models.Q(path__in=folders) | models.Q(path__startswith=inside), run=run
    ).values_list("path", flat=True)
    for name in names:
        if name in folders:
            raise ValidationFailed(
                f"file name {path!r} needs a folder {name!r}, but {name!r} is a file of this run"
            )
        if name.startswith(inside):
            raise ValidationFailed(
                f"file name {path!r} is taken by a folder: the run has files in a folder "
                f"{path!r} ({name!r})"
            )


@transaction.atomic
def run_file_upload(
    *, run: Run, path: str, content: File, kind: str = RunFile.Kind.OUTPUT
) -> RunFile:
    """Store `content` as the run's file `path`, replacing a file of the same name."""
    path = clean_path(path)
    if kind not in RunFile.Kind.values:
        raise ValidationFailed(
            f"file kind must be one of {', '.join(RunFile.Kind.values)}, not {kind!r}"
        )
    _refuse_clash(run, path)
    existing = one_or_none(RunFile.objects.filter(run=run, path=path))
    if existing is not None:
        rf, old = existing, existing.file.name
        rf.kind = kind
    else:
        rf, old = RunFile(run=run, path=path, kind=kind), None
    try:
        with _space_for(path):
            rf.file.save(posixpath.basename(path), content, save=False)
    except (NotADirectoryError, FileExistsError, IsADirectoryError):
        # A clash the names above cannot see (a stray file on disk): the old file stays.
        raise ValidationFailed(
            f"cannot store file {path!r}: a file or folder in the storage stands in its way"
        ) from None
    # The new content is stored: the old one (and a log's parts) can go.
    if existing is not None:
        _delete_parts(existing)
    if old is not None and old != rf.file.name:
        rf.file.storage.delete(old)
    rf.size = rf.file.size
    rf.updated = timezone.now()
    rf.save()
    return rf


@transaction.atomic
def run_file_append(*, run: Run, path: str, data: bytes, kind: str = RunFile.Kind.LOG) -> RunFile:
    """Append bytes to a run file (a growing log), creating it on first use.

    The bytes are a new stored object (a RunFilePart), never an append to the file in
    place: object stores (S3 and the like) cannot append. Past MAX_PARTS parts the file
    is merged back into one object.
    """
    path = clean_path(path)
    # Locked (PostgreSQL; SQLite's immediate transactions serialise writers): two
    # appends cannot both start at the same offset.
    rf = one_or_none(RunFile.objects.select_for_update().filter(run=run, path=path))
    if rf is None:
        return run_file_upload(run=run, path=path, content=ContentFile(data), kind=kind)
    if not data:
        return rf
    storage = rf.file.storage
    with _space_for(path):
        name = storage.save(f"{rf.file.name}{PARTS_SUFFIX}/{rf.size:015d}", ContentFile(data))
    RunFilePart.objects.create(run_file=rf, start=rf.size, size=len(data), name=name)
    rf.size += len(data)
    rf.updated = timezone.now()
    RunFile.objects.filter(pk=rf.pk).update(size=rf.size, updated=rf.updated)
    if RunFilePart.objects.filter(run_file=rf).count() > MAX_PARTS:
        with _space_for(path):
            _merge_parts(rf)
    return rf


def _merge_parts(rf: RunFile) -> None:
    """The file and its parts written as one object again; the pieces deleted."""
    with open_run_file(rf) as fh:
        content = ContentFile(fh.read())
    old = rf.file.name
    _delete_parts(rf)
    rf.file.save(posixpath.basename(rf.path), content, save=False)
    rf.file.storage.delete(old)
    RunFile.objects.filter(pk=rf.pk).update(file=rf.file.name)


def _delete_parts(rf: RunFile) -> None:
    storage = rf.file.storage
    for name in RunFilePart.objects.filter(run_file=rf).values_list("name", flat=True):
        storage.delete(name)
    RunFilePart.objects.filter(run_file=rf).delete()
