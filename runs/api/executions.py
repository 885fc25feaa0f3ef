"""Submitted runs (submit, submit a child), what workers call (claim, log append, finish,
presence), and compute targets."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Status
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from pydantic import ValidationError

from runs import selectors, services
from runs.api.auth import member_run, member_workspace, refuse_run_scoped, token_of
from runs.api.documents import run_document_model
from runs.api.errors import ERRORS, FILE_ERRORS, ApiError, validation_message
from runs.api.files import refuse_oversized_body
from runs.api.schemas import (
    ClaimIn,
    ClaimOut,
    ComputeTargetIn,
    ComputeTargetOut,
    ComputeTargetsOut,
    FinishIn,
    LogOut,
    LogQuery,
    RunDocument,
    SubmitSpec,
    WorkerIn,
    WorkerOut,
)
from runs.models import ComputeTarget, Role, Run, Workspace
from runs.selectors import TargetSummary

router = Router(tags=["submitted runs"], by_alias=True)

RUN = {200: RunDocument, **ERRORS}


def _spec(text: str) -> SubmitSpec:
    try:
        return SubmitSpec.model_validate_json(text)
    except ValidationError as exc:
        problems = [{**e, "loc": ("spec", *e["loc"])} for e in exc.errors()]
        raise ApiError(400, "BadRequest", validation_message(problems)) from None


def _document(workspace: Workspace, run: Run) -> RunDocument:
    return run_document_model(
        selectors.run_get(workspace=workspace, run_id=run.pk, for_document=True)
    )


def _spec_part(*, required: list[str]) -> dict:
    """`spec` is JSON in a multipart part: the schema says so, so clients send an object."""
    spec = SubmitSpec.model_json_schema(by_alias=True)
    if "experiment" in required:  # a name, not null
        name, _ = spec["properties"]["experiment"]["anyOf"]
        spec["properties"]["experiment"] = name
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {"properties": {"spec": {**spec, "required": required}}},
                    "encoding": {"spec": {"contentType": "application/json"}},
                }
            }
        }
    }


@router.post(
    "/w/{ws}/submit",
    response={201: RunDocument, **FILE_ERRORS},
    url_name="run-submit",
    openapi_extra=_spec_part(required=["experiment", "script"]),
)
@decorate_view(refuse_oversized_body)
def run_submit(
    request: HttpRequest, ws: str, spec: Form[str], snapshot: File[UploadedFile]
) -> Status:
    """Submit a script: `spec` (JSON: experiment, script, arguments, target, displayName,
    tags) and `snapshot` (the source folder as .tar.gz). The run is Queued for its target."""
    workspace = member_workspace(request, ws, write=True)
    refuse_run_scoped(request, "submit top-level runs")
    body = _spec(spec)
    if body.experiment is None:
        raise ApiError(400, "BadRequest", "spec.experiment: Field required")
    with transaction.atomic():
        experiment = services.experiment_get_or_create(workspace=workspace, name=body.experiment)
        run = services.run_submit(
            experiment=experiment,
            user=token_of(request).user,
            script=body.script,
            arguments=body.arguments,
            target=body.target,
            snapshot=snapshot,
            display_name=body.display_name,
            tags=body.tags,
        )
    return Status(201, _document(workspace, run))


@router.post(
    "/w/{ws}/runs/{run_id}/submit-child",
    response={201: RunDocument, **FILE_ERRORS},
    url_name="run-submit-child",
    openapi_extra=_spec_part(required=["script"]),
)
@decorate_view(refuse_oversized_body)
def run_submit_child(
    request: HttpRequest, ws: str, run_id: str, spec: Form[str], snapshot: File[UploadedFile]
) -> Status:
    """Submit a script as a child of the run (`run.submit_child`); a submitted script's own
    token may do this."""
    workspace, parent = member_run(request, ws, run_id, write=True)
    body = _spec(spec)
    if body.experiment not in (None, parent.experiment.name):
        raise ApiError(400, "BadRequest", "a child run belongs to its parent's experiment")
    run = services.run_submit(
        experiment=parent.experiment,
        user=token_of(request).user,
        script=body.script,
        arguments=body.arguments,
        target=body.target,
        snapshot=snapshot,
        display_name=body.display_name,
        tags=body.tags,
        parent=parent,
    )
    return Status(201, _document(workspace, run))


@router.post(
    "/w/{ws}/runs/{run_id}/claim", response={200: ClaimOut, **ERRORS}, url_name="run-claim"
)
def run_claim(request: HttpRequest, ws: str, run_id: str, body: ClaimIn) -> ClaimOut:
    """A worker takes the Queued run (409 when it is not Queued: taken, or cancelled)."""
    refuse_run_scoped(request, "claim runs")
    workspace, run = member_run(request, ws, run_id, write=True)
    services.worker_seen(
        name=body.worker, executor="celery", targets=[run.compute_target], workspace=workspace
    )
    run, secret = services.run_claim(run=run, worker=body.worker)
    return ClaimOut(
        run=_document(workspace, run),
        script=run.script,
        arguments=run.arguments,
        token=secret,
    )


@router.post("/w/{ws}/runs/{run_id}/finish", response=RUN, url_name="run-finish")
def run_finish(request: HttpRequest, ws: str, run_id: str, body: FinishIn) -> RunDocument:
    """The executor ends the run (a no-op when it ended already); its script's token dies."""
    refuse_run_scoped(request, "finish runs for a worker")
    workspace, run = member_run(request, ws, run_id, write=True)
    error = None
    if body.error is not None:
        error = {
            "code": body.error.error_code,
            "message": body.error.message,
            "details": body.error.details,
        }
    services.run_finish(run=run, to=body.status, error=error)
    return _document(workspace, run)


@router.post(
    "/w/{ws}/runs/{run_id}/logs",
    response={200: LogOut, **FILE_ERRORS},
    url_name="run-log-append",
)
def run_log_append(request: HttpRequest, ws: str, run_id: str, params: Query[LogQuery]) -> LogOut:
    """Append the request body (bytes) to the log `name` at byte `offset`. Bytes the log
    has already are skipped (a retry stores nothing twice); past its end is a 409."""
    _, run = member_run(request, ws, run_id, write=True, lean=True)
    size = services.run_log_append(
        run=run, name=params.name, offset=params.offset, data=request.body
    )
    return LogOut(name=services.clean_path(params.name), size=size)


def _target(summary: TargetSummary) -> ComputeTargetOut:
    return ComputeTargetOut(
        name=summary.name,
        executor=summary.executor,
        description=summary.description,
        queued=summary.queued,
        running=summary.running,
        workers=[
            WorkerOut(name=w.name, executor=w.executor, last_seen=w.last_seen)
            for w in summary.workers
        ],
    )


def _owner_workspace(request: HttpRequest, ws: str) -> Workspace:
    workspace = member_workspace(request, ws, write=True)
    refuse_run_scoped(request, "change compute targets")
    if not workspace.membership.has_role(Role.OWNER):
        raise ApiError(
            403,
            "Forbidden",
            f"your role in workspace {ws!r} is {workspace.membership.role}: "
            "compute targets are changed by owners",
        )
    return workspace


@router.get(
    "/w/{ws}/compute-targets",
    response={200: ComputeTargetsOut, **ERRORS},
    url_name="compute-target-list",
)
def compute_target_list(request: HttpRequest, ws: str) -> ComputeTargetsOut:
    """The workspace's compute targets (`local` first) with queue lengths and live workers."""
    workspace = member_workspace(request, ws)
    summaries = selectors.compute_target_summaries(workspace=workspace)
    return ComputeTargetsOut(compute_targets=[_target(s) for s in summaries])


@router.post(
    "/w/{ws}/compute-targets",
    response={201: ComputeTargetOut, **ERRORS},
    url_name="compute-target-create",
)
def compute_target_create(request: HttpRequest, ws: str, body: ComputeTargetIn) -> Status:
    """Add a compute target (owners): `local` runs on the studio's worker, `celery` on the
    workers consuming the queue of its name."""
    workspace = _owner_workspace(request, ws)
    target = services.compute_target_create(
        workspace=workspace,
        name=body.name,
        executor=body.executor,
        description=body.description,
        actor=token_of(request).user,
    )
    return Status(
        201,
        _target(
            TargetSummary(
                name=target.name,
                executor=target.executor,
                description=target.description,
                target=target,
            )
        ),
    )


@router.delete(
    "/w/{ws}/compute-targets/{name}",
    response={204: None, **ERRORS},
    url_name="compute-target-delete",
)
def compute_target_delete(request: HttpRequest, ws: str, name: str) -> HttpResponse:
    """Remove a compute target (owners) no queued or executing run waits on."""
    workspace = _owner_workspace(request, ws)
    target = selectors.compute_target_get(workspace=workspace, name=name)
    services.compute_target_delete(target=target)
    return HttpResponse(status=204)


@router.post("/w/{ws}/workers", response={200: WorkerOut, **ERRORS}, url_name="worker-seen")
def worker_seen(request: HttpRequest, ws: str, body: WorkerIn) -> WorkerOut:
    """A Celery worker says it is alive and which queues (targets) it consumes."""
    workspace = member_workspace(request, ws, write=True)
    refuse_run_scoped(request, "report workers")
    worker = services.worker_seen(
        name=body.name,
        executor=ComputeTarget.Executor.CELERY,
        targets=body.targets,
        workspace=workspace,
    )
    worker.refresh_from_db()
    return WorkerOut(name=worker.name, executor=worker.executor, last_seen=worker.last_seen)
