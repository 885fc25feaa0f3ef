"""Run files (outputs and logs), stored through Django's storage API."""

from __future__ import annotations

import posixpath

from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from runs.exceptions import ValidationFailed
from runs.models import Run, RunFile, one_or_none

MAX_PATH = 500


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


def run_file_append(*, run: Run, path: str, data: bytes, kind: str = RunFile.Kind.LOG) -> RunFile:
    """Append bytes to a run file (a growing log), creating it on first use."""
    path = clean_path(path)
    rf = one_or_none(RunFile.objects.filter(run=run, path=path))
    if rf is None:
        return run_file_upload(run=run, path=path, content=ContentFile(data), kind=kind)
    with rf.file.storage.open(rf.file.name, "ab") as fh:
        fh.write(data)
    size = rf.file.storage.size(rf.file.name)
    RunFile.objects.filter(pk=rf.pk).update(size=size, updated=timezone.now())
    rf.size = size
    return rf
