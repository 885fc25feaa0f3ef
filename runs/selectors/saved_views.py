"""Saved views as a member sees them: theirs and the shared ones, their history, their runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.http import Http404

from runs.exceptions import ValidationFailed
from runs.list_state import STATE_PARAMS, ListState, ListStateError, chart_label
from runs.models import Membership, Run, SavedView, SavedViewVersion, Workspace
from runs.selectors.list_conditions import match_q
from runs.selectors.list_sql import order_by
from runs.selectors.runs import RUN_DOCUMENT_PREFETCH

# Ids and versions past a 64-bit integer are no row's (and overflow the database's integers).
MAX_ID = 2**63 - 1


def can_open(view: SavedView, actor: Membership) -> bool:
    """Whether the member may see the view (private views: their owner only)."""
    return view.workspace_id == actor.workspace_id and (
        view.is_shared or view.owner_id == actor.user_id
    )


def saved_views_visible(*, workspace: Workspace, actor: Membership) -> QuerySet[SavedView]:
    """The member's own views and the workspace's shared ones (not deleted): theirs first,
    then by name."""
    return (
        SavedView.objects.filter(workspace=workspace, deleted_at__isnull=True)
        # A membership of another workspace sees nothing here.
        .filter(workspace_id=actor.workspace_id)
        .filter(Q(owner_id=actor.user_id) | Q(visibility=SavedView.Visibility.WORKSPACE))
        .select_related("owner", "updated_by")
        .annotate(
            mine=Case(
                When(owner_id=actor.user_id, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("-mine", "name", "id")
    )


def saved_view_get(*, workspace: Workspace, actor: Membership, view_id: int) -> SavedView:
    """The view if the member may open it (a deleted one too: its tombstone); Http404
    otherwise, also for another member's private view."""
    if not 0 < view_id <= MAX_ID:
        raise Http404(f"no view {view_id} in workspace {workspace.slug!r}")
    view = (
        SavedView.objects.filter(workspace=workspace, pk=view_id)
        .select_related("owner", "updated_by", "deleted_by")
        .first()
    )
    if view is None or not can_open(view, actor):
        raise Http404(f"no view {view_id} in workspace {workspace.slug!r}")
    return view


def saved_views_named(*, workspace: Workspace, actor: Membership, name: str) -> list[SavedView]:
    """The views called `name` the member can open: theirs first, then shared ones."""
    return list(saved_views_visible(workspace=workspace, actor=actor).filter(name=name))


@dataclass(frozen=True)
class Change:
    """One difference between two versions of a view."""

    key: str  # a state parameter, or name, visibility, charts
    old: Any
    new: Any

    @property
    def old_text(self) -> str:
        return _show(self.old, self.key)

    @property
    def new_text(self) -> str:
        return _show(self.new, self.key)

    @property
    def text(self) -> str:
        return f"{self.key}: {self.old_text} → {self.new_text}"


# State keys whose absence means the run list's default, not "nothing".
DEFAULTED_KEYS = ("sort", "cols", "per_page")


def _show(value: Any, key: str = "") -> str:
    if value is None or value == [] or value == "":
        return "(default)" if key in DEFAULTED_KEYS else "(none)"
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return "; ".join(chart_label(c) for c in value)
        return ", ".join(str(v) for v in value)
    return str(value)


def version_changes(old: SavedViewVersion | None, new: SavedViewVersion) -> list[Change]:
    """What `new` changed from `old` (None: the first version, which changes nothing)."""
    if old is None:
        return []
    out = []
    for key in ("name", "visibility"):
        if getattr(old, key) != getattr(new, key):
            out.append(Change(key, getattr(old, key), getattr(new, key)))
    for key in STATE_PARAMS:
        before, after = old.state.get(key), new.state.get(key)
        if before != after:
            out.append(Change(key, before, after))
    if old.charts != new.charts:
        out.append(Change("charts", old.charts, new.charts))
    return out


@dataclass(frozen=True)
class HistoryEntry:
    version: SavedViewVersion
    changes: list[Change]


def saved_view_history(*, view: SavedView) -> list[HistoryEntry]:
    """Every version of the view, newest first, each with what it changed."""
    versions = list(
        SavedViewVersion.objects.filter(view=view).select_related("author").order_by("version")
    )
    entries = []
    previous = None
    for version in versions:
        entries.append(HistoryEntry(version, version_changes(previous, version)))
        previous = version
    return entries[::-1]


def saved_view_state(view: SavedView) -> ListState:
    """The view's list state (with its charts); ValidationFailed if it no longer
    validates (the filter language, say, changed since it was saved)."""
    try:
        return ListState.from_canonical(view.state, charts=view.charts)
    except ListStateError as exc:
        raise ValidationFailed(
            f"view {view.pk}'s saved state is no longer valid: {exc.message}"
        ) from None


def saved_view_runs(*, workspace: Workspace, view: SavedView) -> QuerySet[Run]:
    """The runs of a view, loaded for documents, in the view's sort order.

    Without a condition, the top-level runs (as the list shows them); with one,
    every run that matches it, children included (the list shows them in their trees).
    """
    state = saved_view_state(view)
    qs = Run.objects.filter(workspace=workspace)
    qs = qs.filter(match_q(state)) if state.filtering else qs.filter(parent__isnull=True)
    return (
        order_by(qs, state.sort)
        .select_related("workspace", "experiment", "submitted_by")
        .prefetch_related(*RUN_DOCUMENT_PREFETCH)
    )
