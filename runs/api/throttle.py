"""A request budget per API token: STUDIO_API_RATE_LIMIT requests a window of
STUDIO_API_RATE_WINDOW seconds; beyond it, 429 with Retry-After (the end of the window).

The count lives in Django's cache: one atomic increment a request (`cache.incr`, on
Redis with CACHE_URL, else per web process). A fixed window is the simplest budget
that needs no read-modify-write; at a window's edge a client may spend up to two
windows' worth in a moment, which a budget meant to stop a runaway loop allows.
The SDK waits Retry-After and sends again, so ingest slows down and loses nothing.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache

from runs.models import ApiToken


def seconds_to_wait(token: ApiToken, now: float | None = None) -> int | None:
    """Spend one request of `token`'s budget: None while it lasts, else the seconds until
    the window ends (at least 1)."""
    limit, window = settings.STUDIO_API_RATE_LIMIT, settings.STUDIO_API_RATE_WINDOW
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    # By the token's hash, not its id: ids are reused after rows are deleted (SQLite).
    key = f"api-budget:{token.token_hash[:32]}:{int(now // window)}"
    # add() creates the count only if missing; incr() is atomic on every cache backend.
    cache.add(key, 0, timeout=window + 5)
    try:
        spent = cache.incr(key)
    except ValueError:  # evicted in between
        cache.set(key, 1, timeout=window + 5)
        spent = 1
    if spent <= limit:
        return None
    return max(1, math.ceil(window - now % window))
