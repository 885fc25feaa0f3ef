"""Workspaces and their experiments."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Status

from runs import selectors, services
from runs.api.auth import member_workspace, refuse_run_scoped, scope_run, token_of
from runs.api.errors import ERRORS
from runs.api.schemas import (
    ExperimentIn,
    ExperimentOut,
    ExperimentsOut,
    WorkspaceOut,
    WorkspacesOut,
)
from runs.selectors import ExperimentSummary

router = Router(tags=["workspaces"], by_alias=True)


def _experiment(summary: ExperimentSummary) -> ExperimentOut:
    return ExperimentOut(
        name=summary.experiment.name,
        created=summary.experiment.created,
        run_count=summary.total,
        last_activity=summary.last_activity,
    )


@router.get("/workspaces", response={200: WorkspacesOut, **ERRORS}, url_name="workspace-list")
def workspace_list(request: HttpRequest) -> WorkspacesOut:
    """The workspaces the token's user belongs to, with the user's role in each."""
    token = token_of(request)
    memberships = selectors.memberships_of(token.user)
    if token.run_id is not None:
        memberships = memberships.filter(workspace_id=token.run.workspace_id)
    elif token.workspace_id is not None:
        memberships = memberships.filter(workspace_id=token.workspace_id)
    return WorkspacesOut(
        workspaces=[WorkspaceOut(name=m.workspace.slug, role=m.role) for m in memberships]
    )


@router.get(
    "/w/{ws}/experiments", response={200: ExperimentsOut, **ERRORS}, url_name="experiment-list"
)
def experiment_list(request: HttpRequest, ws: str) -> ExperimentsOut:
    """The workspace's experiments, most recently active first, with run counts."""
    workspace = member_workspace(request, ws)
    summaries = selectors.experiment_summaries(workspace=workspace)
    scope = scope_run(request, workspace)
    if scope is not None:
        summaries = [s for s in summaries if s.experiment.pk == scope.experiment_id]
    return ExperimentsOut(experiments=[_experiment(s) for s in summaries])


@router.post(
    "/w/{ws}/experiments",
    response={200: ExperimentOut, 201: ExperimentOut, **ERRORS},
    url_name="experiment-create",
)
def experiment_create(request: HttpRequest, ws: str, body: ExperimentIn) -> Status:
    """Create an experiment (201), or answer the existing one of that name (200)."""
    workspace = member_workspace(request, ws, write=True)
    refuse_run_scoped(request, "create experiments")
    with transaction.atomic():
        existing = selectors.experiment_find(workspace=workspace, name=body.name)
        experiment = existing or services.experiment_get_or_create(
            workspace=workspace, name=body.name
        )
    summary = selectors.experiment_summary(experiment=experiment)
    return Status(200 if existing else 201, _experiment(summary))
