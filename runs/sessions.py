"""Sign-in sessions: Django's database sessions, read by a statement written once.

Every page reads its session first; the ORM spent about as long compiling that lookup
as the rest of the request's authentication (selectors.rows says why it is written
once). Writing, expiry and clearing are Django's own.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone

from runs.selectors.rows import Statement, Table

_SESSION = Table(Session, "s")


def _by_key_sql(q) -> str:
    # Names from the model, quoted; the values are parameters.
    return (
        f"SELECT {_SESSION.columns(q)} FROM {q(_SESSION.name)} s"  # noqa: S608
        f" WHERE s.{q('session_key')} = %s AND s.{q('expire_date')} > %s"
    )


_BY_KEY = Statement([_SESSION], _by_key_sql)


class SessionStore(DatabaseSessionStore):
    """SESSION_ENGINE = "runs.sessions": a session not found or expired is None, as in
    Django's store, and its key forgotten."""

    def _get_session_from_db(self):
        using = router.db_for_read(Session)
        now = connections[using].ops.adapt_datetimefield_value(timezone.now())
        rows = _BY_KEY.rows([self.session_key, now], using=using)
        if rows:
            return rows[0][0]
        self._session_key = None
        return None
