"""API tokens: created with a secret shown once, stored as its SHA-256."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from runs.models import ApiToken, Run

TOKEN_PREFIX = "rhs_"  # noqa: S105 - a marker, not a secret
# last_used is a hint, not an audit log: write it at most this often per token.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user, name: str, run: Run | None = None) -> tuple[ApiToken, str]:
    """A new token for `user` (scoped to `run` and its descendants if given) and its secret."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=secret[:12], token_hash=_hash(secret), run=run
    )
    return token, secret


def token_authenticate(secret: str) -> ApiToken | None:
    """The active token whose secret this is, or None."""
    if not secret or len(secret) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=_hash(secret), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used is None or now - token.last_used > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return token


def token_revoke(*, token: ApiToken) -> None:
    """Delete the token: requests bearing it fail from now on."""
    token.delete()
