"""Run files (outputs and logs), stored through Django's storage API."""

from __future__ import annotations

import posixpath

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from runs.exceptions import ValidationFailed
from runs.file_content import open_run_file
from runs.models import Run, RunFile, RunFilePart, one_or_none

MAX_PATH = 500
# Appended parts a file keeps before they are merged into one stored object.
MAX_PARTS = 64


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
    if any(ord(c) < 32 for c in norm):
        raise ValidationFailed(f"file name {path!r} contains a control character")
    return norm


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
    existing = one_or_none(RunFile.objects.filter(run=run, path=path))
    if existing is not None:
        _delete_parts(existing)
        existing.file.delete(save=False)
        rf = existing
        rf.kind = kind
    else:
        rf = RunFile(run=run, path=path, kind=kind)
    rf.file.save(posixpath.basename(path), content, save=False)
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
    name = storage.save(f"{rf.file.name}.parts/{rf.size:015d}", ContentFile(data))
    RunFilePart.objects.create(run_file=rf, start=rf.size, size=len(data), name=name)
    rf.size += len(data)
    rf.updated = timezone.now()
    RunFile.objects.filter(pk=rf.pk).update(size=rf.size, updated=rf.updated)
    if RunFilePart.objects.filter(run_file=rf).count() > MAX_PARTS:
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
