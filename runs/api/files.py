"""Run files: multipart upload, list, download (from an offset, for tailing logs)."""

from __future__ import annotations

import functools
import mimetypes
import posixpath
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import File, Form, Query, Router, Status
from ninja.decorators import decorate_view
from ninja.files import UploadedFile

from runs import selectors, services
from runs.api.auth import member_run
from runs.api.errors import ERRORS, FILE_ERRORS, error_response
from runs.api.schemas import FILE_PATH, FileOut, FileQuery, FilesOut
from runs.file_content import open_run_file
from runs.models import RunFile

router = Router(tags=["files"], by_alias=True)

READ_BLOCK = 64 * 1024
# Multipart framing around the file: boundaries, part headers, the small form fields.
MULTIPART_SLACK = 64 * 1024


def _too_large(size: int) -> str:
    limit = settings.STUDIO_MAX_UPLOAD_BYTES
    return f"the file is {size:,} bytes; the limit is {limit:,} bytes"


def refuse_oversized_body(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 413 from the Content-Length alone, before the upload is read and spooled."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.STUDIO_MAX_UPLOAD_BYTES + MULTIPART_SLACK:
            return error_response(413, "PayloadTooLarge", _too_large(length))
        return view(request, *args, **kwargs)

    return wrapped


def _file(rf: RunFile) -> FileOut:
    return FileOut(name=rf.path, kind=rf.kind, size=rf.size, updated=rf.updated)


@router.post(
    "/w/{ws}/runs/{run_id}/files",
    response={201: FileOut, **FILE_ERRORS},
    url_name="file-upload",
    # The service checks the name and the kind (its messages say why); stated for clients.
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "properties": {
                            "name": {"type": "string", "maxLength": 500, "pattern": FILE_PATH},
                            "kind": {"enum": RunFile.Kind.values},
                        }
                    }
                }
            }
        }
    },
)
@decorate_view(refuse_oversized_body)
def file_upload(
    request: HttpRequest,
    ws: str,
    run_id: str,
    file: File[UploadedFile],
    name: Form[str | None] = None,
    kind: Form[str] = RunFile.Kind.OUTPUT,
) -> Status:
    """Store a file of the run (replacing one of the same name); `name` is a relative path."""
    _, run = member_run(request, ws, run_id, write=True)
    if file.size > settings.STUDIO_MAX_UPLOAD_BYTES:
        return error_response(413, "PayloadTooLarge", _too_large(file.size))
    rf = services.run_file_upload(run=run, path=name or file.name, content=file, kind=kind)
    return Status(201, _file(rf))


@router.get("/w/{ws}/runs/{run_id}/files", response={200: FilesOut, **ERRORS}, url_name="file-list")
def file_list(request: HttpRequest, ws: str, run_id: str) -> FilesOut:
    """The run's files, logs first."""
    _, run = member_run(request, ws, run_id)
    return FilesOut(files=[_file(rf) for rf in selectors.run_files(run=run)])


def _read(fh, remaining: int) -> Iterator[bytes]:
    """At most `remaining` bytes: a log that grows while it is sent keeps its Content-Length."""
    try:
        while remaining > 0:
            block = fh.read(min(READ_BLOCK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block
    finally:
        fh.close()


@router.get(
    "/w/{ws}/runs/{run_id}/files/content",
    response={200: None, **ERRORS},
    url_name="file-content",
)
def file_content(
    request: HttpRequest, ws: str, run_id: str, params: Query[FileQuery]
) -> StreamingHttpResponse:
    """The file's bytes from `offset` on (empty past the end); X-File-Size is its size now."""
    _, run = member_run(request, ws, run_id)
    path = services.clean_path(params.name)
    try:
        rf = selectors.run_file_get(run=run, path=path)
    except Http404:
        raise Http404(f"run {run.id} has no file {path!r}") from None
    try:
        fh = open_run_file(rf)
    except OSError:
        raise Http404(f"file {rf.path!r} is listed but missing from storage") from None
    fh.seek(0, 2)
    size = fh.tell()
    offset = min(params.offset, size)
    fh.seek(offset)
    content_type, _ = mimetypes.guess_type(rf.path)
    response = StreamingHttpResponse(
        _read(fh, size - offset), content_type=content_type or "application/octet-stream"
    )
    response["Content-Length"] = str(size - offset)
    response["X-File-Size"] = str(size)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=False, filename=posixpath.basename(rf.path)
    )
    return response
