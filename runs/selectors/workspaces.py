"""Reads scoped by membership: non-members get 404, never 403."""

from django.db.models import Q, QuerySet
from django.http import Http404

from runs.models import Invitation, Membership, Role, Workspace
from runs.selectors.rows import Statement, Table

# Every page asks it first: written once (selectors.rows).
_MEMBERSHIP, _WORKSPACE = Table(Membership, "m"), Table(Workspace, "w")


def _by_user_and_slug_sql(q) -> str:
    # Names from the models, quoted; the values are parameters.
    return (
        f"SELECT {_MEMBERSHIP.columns(q)}, {_WORKSPACE.columns(q)}"  # noqa: S608
        f" FROM {q(_MEMBERSHIP.name)} m INNER JOIN {q(_WORKSPACE.name)} w"
        f" ON w.{q('id')} = m.{q('workspace_id')}"
        f" WHERE m.{q('user_id')} = %s AND w.{q('slug')} = %s"
    )


_BY_USER_AND_SLUG = Statement([_MEMBERSHIP, _WORKSPACE], _by_user_and_slug_sql)


def membership_for(user, slug: str) -> Membership | None:
    """The user's membership of the workspace `slug`, or None."""
    if user is None or not user.is_authenticated:
        return None
    # Read with the user's API token (services.token_authenticate): no second query.
    known = getattr(user, "token_membership", None)
    if known is not None and known.workspace.slug == slug:
        return known
    # At most one row (one membership per user and workspace).
    rows = _BY_USER_AND_SLUG.rows([user.pk, slug])
    if not rows:
        return None
    membership, workspace = rows[0]
    membership.workspace, membership.user = workspace, user
    return membership


def workspace_for_member(user, slug: str, role: str = Role.READER) -> Workspace:
    """The workspace if `user` is a member with at least `role`; Http404 otherwise.

    Members whose role is too low also get 404 from here; views that should
    show a read-only page check `membership.has_role` instead.
    """
    membership = membership_for(user, slug)
    if membership is None or not membership.has_role(role):
        raise Http404("No such workspace.")
    ws = membership.workspace
    ws.membership = membership  # the caller's role, for templates and permission checks
    return ws


def workspaces_of(user) -> QuerySet[Workspace]:
    """The workspaces `user` belongs to."""
    return Workspace.objects.filter(memberships__user=user).order_by("slug")


def memberships_of(user) -> QuerySet[Membership]:
    """The user's memberships with their workspaces, by workspace slug."""
    return (
        Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__slug")
    )


def invitations_for(user) -> QuerySet[Invitation]:
    """The invitations addressed to `user` (by username, or by their email address)."""
    if user is None or not user.is_authenticated:
        return Invitation.objects.none()
    addressed = Q(invitee=user.get_username())
    if user.email:
        addressed |= Q(invitee=user.email.lower())
    return (
        Invitation.objects.filter(addressed)
        .select_related("workspace", "invited_by")
        .order_by("-created", "-id")
    )


def workspace_invitations(*, workspace: Workspace) -> QuerySet[Invitation]:
    """The workspace's invitations nobody has accepted yet (what the owners sent)."""
    return workspace.invitations.select_related("invited_by").order_by("-created", "-id")
