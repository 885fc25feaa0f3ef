"""API tokens: created with a secret shown once, stored as its SHA-256.

A token reaches one workspace (or, made before tokens had one, every workspace
of its user), may expire, and is revoked by marking it: a request bearing a
revoked or expired token is told so (401), not just "invalid".
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from runs.exceptions import Forbidden, NotFound, Unauthorized, ValidationFailed
from runs.models import ApiToken, Membership, Role, Run, Workspace
from runs.selectors.rows import Statement, Table
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


# The token, its user, its workspace and the user's membership of it, in one statement
# written once (selectors.rows: the ORM would spend ~2 ms of Python compiling it on every
# API request). The request's workspace check (selectors.membership_for) then sends no
# query of its own; the run of a run-scoped token is read when a request needs it.
_TOKEN, _USER, _WORKSPACE, _MEMBER = (
    Table(ApiToken, "t"),
    Table(get_user_model(), "u"),
    Table(Workspace, "w"),
    Table(Membership, "m"),
)


def _by_secret_sql(q) -> str:
    tables = (_TOKEN, _USER, _WORKSPACE, _MEMBER)
    # Names from the models, quoted; the values are parameters.
    return (
        f"SELECT {', '.join(t.columns(q) for t in tables)}"  # noqa: S608
        f" FROM {q(_TOKEN.name)} t INNER JOIN {q(_USER.name)} u ON u.{q('id')} = t.{q('user_id')}"
        f" LEFT OUTER JOIN {q(_WORKSPACE.name)} w ON w.{q('id')} = t.{q('workspace_id')}"
        f" LEFT OUTER JOIN {q(_MEMBER.name)} m ON m.{q('user_id')} = t.{q('user_id')}"
        f" AND m.{q('workspace_id')} = t.{q('workspace_id')}"
        f" WHERE t.{q('token_hash')} = %s AND u.{q('is_active')} = %s"
    )


_BY_SECRET = Statement([_TOKEN, _USER, _WORKSPACE, _MEMBER], _by_secret_sql)


def _token_by_secret(secret: str) -> ApiToken | None:
    """The active user's token whose secret this is, its user and workspace set, and the
    membership as `user.token_membership` (None without a workspace or membership)."""
    rows = _BY_SECRET.rows([_hash(secret), True])
    if not rows:
        return None
    token, user, workspace, membership = rows[0]
    token.user, token.workspace = user, workspace
    if membership is not None:
        membership.workspace, membership.user = workspace, user
    user.token_membership = membership
    return token


def token_authenticate(secret: str) -> ApiToken | None:
    """The token whose secret this is, or None for an unknown one; Unauthorized, saying
    why, for a revoked or expired token. Its user carries its membership of the token's
    workspace as `token_membership` (selectors.membership_for reads it)."""
    if not secret or len(secret) > 200:
        return None
    token = _token_by_secret(secret)
    if token is None:
        return None
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
