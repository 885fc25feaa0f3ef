"""Runs: create, list, read, update, move along the status machine, tags, properties, children."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status

from runs import list_state, query, selectors, services
from runs.api.auth import member_run, member_workspace, refuse_run_scoped, scope_run, token_of
from runs.api.documents import run_document_model
from runs.api.errors import ERRORS, ApiError
from runs.api.metrics import series_in
from runs.api.schemas import (
    LIFECYCLE_STATUSES,
    CancelIn,
    ChildrenIn,
    ChildrenQuery,
    EndIn,
    FailIn,
    HeartbeatOut,
    HeartbeatsIn,
    HeartbeatsOut,
    MetricBatchIn,
    PropertiesIn,
    PropertiesOut,
    RunCreateIn,
    RunDocument,
    RunListOut,
    RunListQuery,
    RunsOut,
    RunUpdateIn,
    StatusIn,
    TagsIn,
    TagsOut,
)
from runs.exceptions import ValidationFailed
from runs.models import Run
from runs.services.properties import check_properties
from runs.services.tags import check_key, check_tags
from runs.status import Status as RunStatus

router = Router(tags=["runs"], by_alias=True)

RUN = {200: RunDocument, **ERRORS}


def _pairs(kind: str, items: list[str]) -> dict[str, str | None]:
    """`["quality=great", "flagged"]` -> {"quality": "great", "flagged": None}."""
    out: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            key = check_key(kind, key)
        except ValidationFailed as exc:
            raise ApiError(400, "BadRequest", f"{kind} filter {item!r}: {exc.message}") from None
        if key in out and out[key] != (value if sep else None):
            raise ApiError(400, "BadRequest", f"{kind} filter {key!r} is given twice")
        out[key] = value if sep else None
    return out


def _sort(text: str | None) -> str:
    """A sort key of the run list page (runs.list_state: `-` for descending); a bad one
    is a 400."""
    try:
        return list_state.parse_sort(text or "")
    except ValidationFailed as exc:
        raise ApiError(400, "BadRequest", exc.message) from None


def _filter_condition(text: str | None) -> Q | None:
    """The filter language (runs.query) as a condition; a bad filter is a 400 BadFilter."""
    if text is None or not text.strip():
        return None
    try:
        return query.to_q(query.parse(text))
    except query.QueryError as exc:
        raise ApiError(400, "BadFilter", str(exc)) from None


def _page(qs: QuerySet[Run], page: int, per_page: int) -> RunListOut:
    """One page of documents: a count, the page, and the prefetches (tags, properties, metrics)."""
    total = qs.count()
    start = (page - 1) * per_page
    runs = list(qs[start : start + per_page]) if start < total else []
    return RunListOut(
        runs=[run_document_model(r) for r in runs],
        page=page,
        per_page=per_page,
        total=total,
        has_more=start + len(runs) < total,
    )


@router.post("/w/{ws}/runs", response={201: RunDocument, **ERRORS}, url_name="run-create")
def run_create(request: HttpRequest, ws: str, body: RunCreateIn) -> Status:
    """A new top-level run; its experiment is created on first use. With `metrics` and
    `complete`, a short run's whole life in one request."""
    workspace = member_workspace(request, ws, write=True)
    refuse_run_scoped(request, "create top-level runs")
    user = token_of(request).user
    try:
        with transaction.atomic():
            experiment = services.experiment_get_or_create(
                workspace=workspace, name=body.experiment
            )
            run = services.run_create_logged(
                experiment=experiment,
                user=user,
                display_name=body.display_name,
                run_status=body.status,
                compute_target=body.target,
                description=body.description,
                tags=body.tags,
                properties=body.properties,
                started=body.start_time_utc,
                ended=body.end_time_utc,
                started_ago=body.started_seconds_ago,
                run_id=body.run_id,
                last=_last_points(body.metrics),
                complete=body.complete,
            )
    except IntegrityError:
        if body.run_id is not None and Run.objects.filter(pk=body.run_id).exists():
            raise ApiError(409, "Conflict", f"run {body.run_id} exists already") from None
        raise
    run.workspace = workspace
    if body.metrics is not None or body.complete:
        return Status(201, _ended(run))
    # The document from what was just written: no second read of the run.
    document = run_document_model(
        run,
        tags=dict(sorted(check_tags(body.tags or {}).items())),
        properties=dict(sorted(check_properties(body.properties or {}).items())),
        metrics={},
    )
    return Status(201, document)


@router.get("/w/{ws}/runs", response={200: RunListOut, **ERRORS}, url_name="run-list")
def run_list(request: HttpRequest, ws: str, params: Query[RunListQuery]) -> RunListOut:
    """Runs filtered, a page at a time, newest first or in the order `sort` asks."""
    workspace = member_workspace(request, ws)
    scope = scope_run(request, workspace)
    parent = None
    if params.parent is not None:
        _, parent = member_run(request, ws, params.parent)
    qs = selectors.run_search(
        workspace=workspace,
        experiment=params.experiment,
        statuses=params.status,
        tags=_pairs("tag", params.tag),
        properties=_pairs("property", params.property_),
        parent=parent,
        recursive=params.recursive,
        include_children=params.include_children,
        condition=_filter_condition(params.filter),
        within=scope,
        sort=_sort(params.sort),
    )
    return _page(qs, params.page, params.per_page)


@router.get("/w/{ws}/runs/{run_id}", response=RUN, url_name="run-detail")
def run_detail(request: HttpRequest, ws: str, run_id: str) -> RunDocument:
    """One run's document."""
    _, run = member_run(request, ws, run_id, for_document=True)
    return run_document_model(run)


@router.patch("/w/{ws}/runs/{run_id}", response=RUN, url_name="run-update")
def run_update(request: HttpRequest, ws: str, run_id: str, body: RunUpdateIn) -> RunDocument:
    """Change the display name and/or the markdown description."""
    _, run = member_run(request, ws, run_id, write=True, for_document=True)
    services.run_update(
        run=run,
        actor=token_of(request).user,
        display_name=body.display_name,
        description=body.description,
    )
    return run_document_model(run)


@router.post("/w/{ws}/runs/{run_id}/status", response=RUN, url_name="run-status")
def run_status(request: HttpRequest, ws: str, run_id: str, body: StatusIn) -> RunDocument:
    """Move the run along its lifecycle (Queued, Preparing, Starting, Running, Finalizing)."""
    _, run = member_run(request, ws, run_id, write=True, for_document=True)
    if body.status not in LIFECYCLE_STATUSES:
        moves = ", ".join(LIFECYCLE_STATUSES)
        if body.status in RunStatus.values:
            message = (
                f"{body.status} is not a lifecycle move: this endpoint accepts {moves}; "
                "end a run with POST .../complete, .../fail or .../cancel"
            )
        else:
            message = f"unknown status {body.status!r}: this endpoint accepts {moves}"
        raise ApiError(400, "BadRequest", message)
    services.run_set_status(run=run, to=body.status, actor=token_of(request).user)
    return run_document_model(run)


def _last_points(batch: MetricBatchIn | None) -> services.LastPoints | None:
    """A run end's last metric points, as the metric batch endpoint takes them."""
    if batch is None:
        return None
    return services.LastPoints(series=series_in(batch.series), key=batch.key)


def _ended(run: Run) -> RunDocument:
    """The document of a run just ended: its tags, properties and latest values read after
    the end stored its last points."""
    run.document_parts = selectors.run_document_parts(run_id=run.pk)
    return run_document_model(run)


@router.post("/w/{ws}/runs/{run_id}/complete", response=RUN, url_name="run-complete")
def run_complete(
    request: HttpRequest, ws: str, run_id: str, body: EndIn | None = None
) -> RunDocument:
    """Mark the run Completed; `metrics` (a metric batch) is stored first, in the same
    transaction: a run's last points and its end in one request."""
    body = body or EndIn()
    _, run = member_run(request, ws, run_id, write=True)
    services.run_complete(run=run, actor=token_of(request).user, last=_last_points(body.metrics))
    return _ended(run)


@router.post("/w/{ws}/runs/{run_id}/fail", response=RUN, url_name="run-fail")
def run_fail(request: HttpRequest, ws: str, run_id: str, body: FailIn | None = None) -> RunDocument:
    """Mark the run Failed, with an error code, message and details (and, as complete
    does, its last metric points)."""
    body = body or FailIn()
    _, run = member_run(request, ws, run_id, write=True)
    services.run_fail(
        run=run,
        actor=token_of(request).user,
        error_code=body.error_code,
        message=body.message,
        details=body.details,
        last=_last_points(body.metrics),
    )
    return _ended(run)


@router.post("/w/{ws}/runs/{run_id}/cancel", response=RUN, url_name="run-cancel")
def run_cancel(
    request: HttpRequest, ws: str, run_id: str, body: CancelIn | None = None
) -> RunDocument:
    """Cancel the run and its non-terminal descendants."""
    body = body or CancelIn()
    _, run = member_run(request, ws, run_id, write=True, for_document=True)
    services.run_cancel(run=run, actor=token_of(request).user, immediate=body.immediate)
    return run_document_model(run)


@router.patch("/w/{ws}/runs/{run_id}/tags", response={200: TagsOut, **ERRORS}, url_name="run-tags")
def run_tags(request: HttpRequest, ws: str, run_id: str, body: TagsIn) -> TagsOut:
    """Set and remove tags in one transaction."""
    workspace = member_workspace(request, ws, write=True)
    token = token_of(request)
    # The run and its tags in one query, inside the change's transaction (as
    # member_run would find it, without a query of its own).
    with transaction.atomic():
        found = selectors.run_with_tags(workspace=workspace, run_id=run_id)
        if found is None or not token.allows_run(found[0]):
            raise Http404(f"run {run_id!r} not found in workspace {ws!r}")
        tags = services.run_set_tags(
            run=found[0], current=found[1], tags=body.set_, remove=body.remove, actor=token.user
        )
    return TagsOut(tags=tags)


@router.post(
    "/w/{ws}/runs/{run_id}/properties",
    response={200: PropertiesOut, **ERRORS},
    url_name="run-properties",
)
def run_properties(request: HttpRequest, ws: str, run_id: str, body: PropertiesIn) -> PropertiesOut:
    """Add immutable properties; a key that exists with another value is a 409."""
    _, run = member_run(request, ws, run_id, write=True)
    properties = services.run_add_properties(
        run=run, properties=body.properties, actor=token_of(request).user
    )
    return PropertiesOut(properties=properties)


@router.post(
    "/w/{ws}/runs/{run_id}/children",
    response={201: RunsOut, **ERRORS},
    url_name="run-children-create",
)
def run_children_create(request: HttpRequest, ws: str, run_id: str, body: ChildrenIn) -> Status:
    """Create children of the run in one transaction (ids `<run>_<n>`)."""
    workspace, run = member_run(request, ws, run_id, write=True)
    if (
        body.tag_values is not None
        and body.count is not None
        and body.count != len(body.tag_values)
    ):
        raise ApiError(
            400,
            "BadRequest",
            f"count is {body.count} but {len(body.tag_values)} tagValues are given",
        )
    children = services.run_create_children(
        parent=run,
        user=token_of(request).user,
        count=body.count or 1,
        display_names=body.display_names,
        tag_key=body.tag_key,
        tag_values=body.tag_values,
    )
    runs = selectors.runs_for_documents(workspace=workspace, ids=[c.id for c in children])
    return Status(201, RunsOut(runs=[run_document_model(r) for r in runs]))


@router.get(
    "/w/{ws}/runs/{run_id}/children",
    response={200: RunListOut, **ERRORS},
    url_name="run-children",
)
def run_children(
    request: HttpRequest, ws: str, run_id: str, params: Query[ChildrenQuery]
) -> RunListOut:
    """The run's children (or all descendants with `recursive`), newest first."""
    workspace, run = member_run(request, ws, run_id)
    qs = selectors.run_search(
        workspace=workspace,
        statuses=params.status,
        tags=_pairs("tag", params.tag),
        properties=_pairs("property", params.property_),
        parent=run,
        recursive=params.recursive,
    )
    return _page(qs, params.page, params.per_page)


@router.post(
    "/w/{ws}/runs/{run_id}/heartbeat",
    response={200: HeartbeatOut, **ERRORS},
    url_name="run-heartbeat",
)
def run_heartbeat(request: HttpRequest, ws: str, run_id: str) -> HeartbeatOut:
    """The run's process is alive; the answer says whether a cancel was asked for."""
    _, run = member_run(request, ws, run_id, write=True, lean=True)
    run = services.run_heartbeat(run=run)
    return HeartbeatOut(
        status=run.status, cancel_requested=run.status == RunStatus.CANCEL_REQUESTED
    )


@router.post("/w/{ws}/heartbeats", response={200: HeartbeatsOut, **ERRORS}, url_name="heartbeats")
def runs_heartbeat(request: HttpRequest, ws: str, body: HeartbeatsIn) -> HeartbeatsOut:
    """The heartbeat of many runs in one request (a process executing a sweep): each run's
    status and whether a cancel was asked for; ids not found are listed as missing."""
    workspace = member_workspace(request, ws, write=True)
    token = token_of(request)
    wanted = list(dict.fromkeys(body.run_ids))
    if token.run_id is not None:
        reachable = selectors.runs_lean(workspace=workspace, ids=wanted)
        wanted = [i for i in wanted if i in reachable and token.allows_run(reachable[i])]
    statuses = services.runs_heartbeat(workspace=workspace, run_ids=wanted)
    return HeartbeatsOut(
        runs={
            run_id: HeartbeatOut(
                status=status, cancel_requested=status == RunStatus.CANCEL_REQUESTED
            )
            for run_id, status in statuses.items()
        },
        missing=[i for i in dict.fromkeys(body.run_ids) if i not in statuses],
    )
