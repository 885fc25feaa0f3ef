"""Saved views: a run-list state and its charts under a name, with every version kept.

A view's state is the run list's query string (DESIGN.md, "Studio pages and URL
state"), validated and stored in its canonical form (runs.list_state:
`ListState.canonical()`), so that the same screen saved twice is the same state
whatever the parameters' order. Charts are a list of specs (`ChartSpec`).

Who may do what (`actor` is the member's Membership):

- open: a private view only its owner (anyone else: NotFound, as if it did not
  exist); a shared (`workspace`) view every member;
- change (state, charts, rename, share or unshare, restore, delete): the owner,
  and for a shared view the workspace's contributors and owners (a reader:
  Forbidden); sharing a view needs contributor or owner;
- pin the workspace's default view: workspace owners, shared views only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import QueryDict
from django.utils import timezone

from runs.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from runs.list_state import STATE_PARAMS, ListState, charts_json, parse_charts
from runs.models import (
    VIEW_NAME_MAX,
    Membership,
    Role,
    SavedView,
    SavedViewVersion,
    Workspace,
)
from runs.selectors.saved_views import can_open
from runs.text import check_text

# `page` is where the reader is, not what the view is: accepted and dropped.
IGNORED_KEYS = ("page",)
MAX_VIEWS_PER_OWNER = 200


# --- state ---------------------------------------------------------------------------


def _as_query(raw: Mapping[str, Any] | QueryDict) -> QueryDict:
    """A state given as a dict ({"status": ["Failed"], "per_page": 25}) or a QueryDict."""
    if isinstance(raw, QueryDict):
        return raw
    if not isinstance(raw, Mapping):
        raise ValidationFailed("a view's state is an object of run list parameters")
    unknown = [k for k in raw if k not in STATE_PARAMS and k not in IGNORED_KEYS]
    if unknown:
        raise ValidationFailed(
            f"{str(unknown[0])[:40]!r} is not a run list parameter; a view's state holds "
            + ", ".join(STATE_PARAMS)
        )
    query = QueryDict(mutable=True)
    for key, value in raw.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise ValidationFailed(f"state.{key}: expected text, not {type(item).__name__}")
            if isinstance(item, int) and key != "per_page":
                raise ValidationFailed(f"state.{key}: expected text, not a number")
            query.appendlist(key, str(item))
    return query


def state_from_query(query: QueryDict) -> QueryDict:
    """Only the run list's state parameters of a request's query string or form."""
    out = QueryDict(mutable=True)
    for key in STATE_PARAMS:
        for value in query.getlist(key):
            out.appendlist(key, value)
    return out


def normalise_state(raw: Mapping[str, Any] | QueryDict) -> dict[str, Any]:
    """The canonical state of the run list parameters `raw`; ValidationFailed when the run
    list would refuse them (the message names the parameter)."""
    return ListState.parse(_as_query(raw)).canonical()


def normalise_charts(raw: Any) -> list[dict[str, Any]]:
    """Chart specs (JSON), validated, in their canonical form (runs.list_state.ChartSpec)."""
    return charts_json(parse_charts(raw))


# --- names and permissions -----------------------------------------------------------


def clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("a view needs a name")
    name = " ".join(check_text(name, what="a view's name").split())
    if len(name) > VIEW_NAME_MAX:
        raise ValidationFailed(f"a view's name has at most {VIEW_NAME_MAX} characters")
    return name


def clean_visibility(value: Any) -> str:
    if value not in SavedView.Visibility.values:
        raise ValidationFailed(
            f"visibility is {' or '.join(SavedView.Visibility.values)}, not {str(value)[:40]!r}"
        )
    return value


def can_edit(view: SavedView, actor: Membership) -> bool:
    """Whether the member may change, rename, share, restore or delete the view."""
    if not can_open(view, actor):
        return False
    return view.owner_id == actor.user_id or actor.has_role(Role.CONTRIBUTOR)


def check_edit(view: SavedView, actor: Membership) -> None:
    """NotFound for a view the member cannot see; Forbidden for one they may only open."""
    if not can_open(view, actor):
        raise NotFound(f"no view {view.pk} in this workspace")
    if view.is_deleted:
        raise NotFound(f"view {view.pk} was deleted")
    if not can_edit(view, actor):
        raise Forbidden(
            f"{view.name!r} is a shared view of another member and your role is {actor.role}: "
            "readers can open it and save it as a view of their own, but only its owner, "
            "contributors and owners can change it"
        )


def _check_share(actor: Membership) -> None:
    if not actor.has_role(Role.CONTRIBUTOR):
        raise Forbidden(
            f"your role is {actor.role}: readers can save private views; "
            "sharing a view with the workspace needs contributor or owner"
        )


def _name_taken(workspace: Workspace, owner_id: int, name: str, exclude: int | None) -> bool:
    qs = SavedView.objects.filter(
        workspace=workspace, owner_id=owner_id, name=name, deleted_at__isnull=True
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _taken_message(name: str, mine: bool) -> str:
    whose = "you already have" if mine else "its owner already has"
    return f"{whose} a view named {name!r} in this workspace: choose another name"


def _snapshot(view: SavedView, author_id: int | None, note: str = "") -> SavedViewVersion:
    return SavedViewVersion.objects.create(
        view=view,
        version=view.version,
        name=view.name,
        visibility=view.visibility,
        state=view.state,
        charts=view.charts,
        author_id=author_id,
        note=note,
        created=view.updated,
    )


# --- writes --------------------------------------------------------------------------


@transaction.atomic
def saved_view_create(
    *,
    actor: Membership,
    name: str,
    state: Mapping[str, Any] | QueryDict,
    charts: Any = None,
    visibility: str = SavedView.Visibility.PRIVATE,
) -> SavedView:
    """A new view of the member's (version 1). Readers may save private views."""
    name = clean_name(name)
    visibility = clean_visibility(visibility)
    if visibility == SavedView.Visibility.WORKSPACE:
        _check_share(actor)
    state = normalise_state(state)
    charts = normalise_charts(charts)
    workspace_id, user_id = actor.workspace_id, actor.user_id
    owned = SavedView.objects.filter(
        workspace_id=workspace_id, owner_id=user_id, deleted_at__isnull=True
    )
    if owned.count() >= MAX_VIEWS_PER_OWNER:
        raise ValidationFailed(
            f"you have {MAX_VIEWS_PER_OWNER} views in this workspace, the most one member "
            "may keep: delete one first"
        )
    if owned.filter(name=name).exists():
        raise ValidationFailed(_taken_message(name, mine=True))
    now = timezone.now()
    view = SavedView(
        workspace_id=workspace_id,
        owner_id=user_id,
        name=name,
        visibility=visibility,
        state=state,
        charts=charts,
        created=now,
        updated=now,
        updated_by_id=user_id,
        version=1,
    )
    view.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:
        # Two saves of the same name at once: the constraint decided.
        raise ValidationFailed(_taken_message(name, mine=True)) from None
    _snapshot(view, user_id, "created")
    return view


_UNSET: Any = object()


@transaction.atomic
def saved_view_update(
    *,
    view: SavedView,
    actor: Membership,
    name: Any = _UNSET,
    visibility: Any = _UNSET,
    state: Any = _UNSET,
    charts: Any = _UNSET,
    expected_version: int | None = None,
    note: str = "",
) -> SavedView:
    """Change what is given; a change is a new version (the old one is kept).

    `expected_version`: the version the change was made from; if someone saved
    since, Conflict (instead of silently overwriting their change). A save that
    changes nothing makes no version.
    """
    check_edit(view, actor)
    locked = SavedView.objects.select_for_update().get(pk=view.pk)
    if locked.is_deleted:
        raise NotFound(f"view {view.pk} was deleted")
    if expected_version is not None and locked.version != expected_version:
        who = locked.updated_by.get_username() if locked.updated_by else "someone"
        raise Conflict(
            f"{locked.name!r} was changed by {who} (version {locked.version}) since you opened "
            f"version {expected_version}: reload it, or save yours as a new view"
        )
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        changes["name"] = clean_name(name)
    if visibility is not _UNSET:
        changes["visibility"] = clean_visibility(visibility)
    if state is not _UNSET:
        changes["state"] = normalise_state(state if state is not None else {})
    if charts is not _UNSET:
        changes["charts"] = normalise_charts(charts)
    changes = {k: v for k, v in changes.items() if getattr(locked, k) != v}
    if not changes:
        return locked
    new_visibility = changes.get("visibility")
    if new_visibility == SavedView.Visibility.WORKSPACE:
        _check_share(actor)
    if new_visibility == SavedView.Visibility.PRIVATE:
        ws = Workspace.objects.only("default_view_id").get(pk=locked.workspace_id)
        if ws.default_view_id == locked.pk:
            raise Conflict(
                f"{locked.name!r} is the workspace's default view: "
                "a workspace owner must unpin it before it can be made private"
            )
    if "name" in changes and _name_taken(
        locked.workspace, locked.owner_id, changes["name"], exclude=locked.pk
    ):
        raise ValidationFailed(
            _taken_message(changes["name"], mine=locked.owner_id == actor.user_id)
        )
    for key, value in changes.items():
        setattr(locked, key, value)
    locked.version = F("version") + 1
    locked.updated = timezone.now()
    locked.updated_by_id = actor.user_id
    try:
        with transaction.atomic():
            locked.save(
                update_fields=[*changes, "version", "updated", "updated_by"],
            )
    except IntegrityError:
        raise ValidationFailed(
            _taken_message(changes.get("name", locked.name), mine=True)
        ) from None
    locked.refresh_from_db(fields=["version"])
    _snapshot(locked, actor.user_id, note)
    # The caller's object follows (views and the API keep using it).
    for key in ("name", "visibility", "state", "charts", "version", "updated", "updated_by_id"):
        setattr(view, key, getattr(locked, key))
    return view


def saved_view_restore(*, view: SavedView, actor: Membership, version: int) -> SavedView:
    """Bring back the name, state and charts of an earlier version, as a new version.

    Visibility stays as it is now: sharing is its own decision.
    """
    check_edit(view, actor)
    old = None
    if 0 < version < 2**31:
        old = SavedViewVersion.objects.filter(view=view, version=version).first()
    if old is None:
        raise NotFound(f"view {view.pk} has no version {version}")
    return saved_view_update(
        view=view,
        actor=actor,
        name=old.name,
        state=old.state,
        charts=old.charts,
        note=f"restored version {version}",
    )


@transaction.atomic
def saved_view_delete(*, view: SavedView, actor: Membership) -> SavedView:
    """Delete the view, keeping a tombstone (its old links say it was deleted).

    A deleted default view is unpinned.
    """
    check_edit(view, actor)
    now = timezone.now()
    updated = SavedView.objects.filter(pk=view.pk, deleted_at__isnull=True).update(
        deleted_at=now, deleted_by_id=actor.user_id
    )
    if not updated:
        raise NotFound(f"view {view.pk} was deleted")
    Workspace.objects.filter(pk=view.workspace_id, default_view=view).update(default_view=None)
    view.deleted_at, view.deleted_by_id = now, actor.user_id
    return view


@transaction.atomic
def saved_view_set_default(
    *, workspace: Workspace, actor: Membership, view: SavedView | None
) -> Workspace:
    """Pin a shared view as the workspace's default (None: unpin). Owners only."""
    if not actor.has_role(Role.OWNER):
        raise Forbidden(f"your role is {actor.role}: only workspace owners choose the default view")
    if view is not None:
        if not can_open(view, actor) or view.workspace_id != workspace.pk:
            raise NotFound(f"no view {view.pk} in this workspace")
        if view.is_deleted:
            raise NotFound(f"view {view.pk} was deleted")
        if not view.is_shared:
            raise ValidationFailed(
                f"{view.name!r} is private: share it with the workspace before pinning it"
            )
    workspace.default_view = view
    workspace.save(update_fields=["default_view"])
    return workspace
