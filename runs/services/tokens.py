"""API tokens: created with a secret shown once, stored as its SHA-256.

A token reaches one workspace (or, made before tokens had one, every workspace
of its user), may expire, and is revoked by marking it: a request bearing a
revoked or expired token is told so (401), not just "invalid".
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from runs.exceptions import Forbidden, NotFound, Unauthorized, ValidationFailed
from runs.models import ApiToken, Membership, Role, Run, Workspace, one_or_none
from runs.text import check_text

TOKEN_PREFIX = "rhs_"  # noqa: S105 - a marker, not a secret
TOKEN_NAME_MAX = 100
# last_used is a hint, not an audit log: write it at most this often per token.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *,
    user,
    name: str,
    run: Run | None = None,
    workspace: Workspace | None = None,
    expires: datetime | None = None,
    issued_for: Run | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` and its secret: limited to `run` and its descendants if
    given (and to the run's workspace), else to `workspace` if given; valid until `expires`.
    `issued_for`: the submitted run whose script holds it (revoked when that run ends)."""
    name = " ".join(check_text(name or "", what="a token's name").split())
    if not name:
        raise ValidationFailed("a token needs a name (what it is for: 'laptop', 'CI', ...)")
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationFailed(f"a token's name has at most {TOKEN_NAME_MAX} characters")
    if expires is not None and expires <= timezone.now():
        raise ValidationFailed("the expiry date is in the past: pick a later one")
    if run is not None:
        workspace_id = run.workspace_id
    else:
        workspace_id = workspace.pk if workspace is not None else None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:12],
        token_hash=_hash(secret),
        run=run,
        workspace_id=workspace_id,
        expires=expires,
        issued_for=issued_for,
    )
    return token, secret


# The user's membership of the token's workspace, read with the token: the request's
# workspace check (selectors.membership_for) then sends no query of its own.
# select_related does not follow a filtered relation through the user: its columns.
# (A FilteredRelation is bound to the query it is added to: a new one each time.)
def _member() -> FilteredRelation:
    return FilteredRelation(
        "user__memberships", condition=Q(user__memberships__workspace=F("workspace"))
    )


_MEMBER_COLUMNS = {f"member_{name}": F(f"member__{name}") for name in ("id", "role", "created")}


def _token_membership(token: ApiToken) -> Membership | None:
    """The membership read with the token (None without a workspace or a membership)."""
    if token.member_id is None:
        return None
    membership = Membership.from_db(
        token._state.db,
        ["id", "workspace_id", "user_id", "role", "created"],
        [
            token.member_id,
            token.workspace_id,
            token.user_id,
            token.member_role,
            token.member_created,
        ],
    )
    membership.workspace, membership.user = token.workspace, token.user
    return membership


def token_authenticate(secret: str) -> ApiToken | None:
    """The token whose secret this is, or None for an unknown one; Unauthorized, saying
    why, for a revoked or expired token. Its user carries its membership of the token's
    workspace as `token_membership` (selectors.membership_for reads it)."""
    if not secret or len(secret) > 200:
        return None
    token = one_or_none(
        # The user and the workspace with its membership; the run of a run-scoped token
        # is read when a request needs it.
        ApiToken.objects.annotate(member=_member(), **_MEMBER_COLUMNS)
        .select_related("user", "workspace")
        .filter(token_hash=_hash(secret), user__is_active=True)
    )
    if token is None:
        return None
    token.user.token_membership = _token_membership(token)
    now = timezone.now()
    if token.revoked_at is not None:
        raise Unauthorized(
            f"this token ({token.prefix}…, {token.name!r}) was revoked on "
            f"{token.revoked_at:%Y-%m-%d %H:%M} UTC: create a new one"
        )
    if token.expires is not None and token.expires <= now:
        raise Unauthorized(
            f"this token ({token.prefix}…, {token.name!r}) expired on "
            f"{token.expires:%Y-%m-%d %H:%M} UTC: create a new one"
        )
    if token.last_used is None or now - token.last_used > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token


def can_revoke(token: ApiToken, actor: Membership) -> bool:
    """A member revokes their own tokens; owners also those of others in the workspace."""
    if token.user_id == actor.user_id:
        return True
    return token.workspace_id == actor.workspace_id and actor.has_role(Role.OWNER)


def token_revoke(*, token: ApiToken, actor: Membership | None = None) -> ApiToken:
    """Revoke the token: requests bearing it get 401 saying so from now on. Without
    `actor` (the admin, commands) no permission check."""
    if actor is not None and not can_revoke(token, actor):
        if token.workspace_id != actor.workspace_id:
            raise NotFound("no such token in this workspace")
        raise Forbidden("only owners revoke other members' tokens")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = actor.user if actor is not None else None
        token.save(update_fields=["revoked_at", "revoked_by"])
    return token
