"""Downsampling of metric series for charts: min/max per bucket, endpoints kept.

A chart is a few hundred to a couple of thousand pixels wide; sending it more
points than that only costs bandwidth. Keeping each bucket's minimum and
maximum (in step order) preserves the peaks a plain stride would drop.

numpy finds every bucket's extremes at once (fmin/fmax per bucket with reduceat,
then the first position holding each): ~0.4 ms for 100,000 points in an array,
where a pass in Python over the values took ~7. A list costs ~4 ms more, to convert.
numpy is imported by the functions that use it, on first use: processes that draw no
chart (the worker, `manage.py runworker`) never load it (~18 MB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MAX_POINTS = 2000


def minmax(steps, values, max_points: int = DEFAULT_MAX_POINTS) -> tuple[list, list]:
    """At most `max_points` points: the first, the last, and each bucket's min and max.

    NaN values are skipped when finding extremes; a bucket of only NaNs keeps one NaN
    (its first point) so gaps stay visible. `steps` and `values` may be lists,
    array.array, memoryview or numpy arrays; the result is two plain lists.
    """
    import numpy as np

    n = len(values)
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    if n <= max_points:
        return _as_list(steps), _as_list(values)
    values = np.asarray(values, dtype=np.float64)
    # The endpoints take two slots; each bucket emits up to two points. n > max_points,
    # so no bucket is empty.
    buckets = (max_points - 2) // 2
    inner = n - 2
    bounds = 1 + (np.arange(buckets + 1, dtype=np.int64) * inner) // buckets
    at_low = _first_extremes(np.fmin, values, bounds)
    at_high = _first_extremes(np.fmax, values, bounds)
    # Each bucket's two extremes in step order, between the endpoints.
    first, second = np.minimum(at_low, at_high), np.maximum(at_low, at_high)
    at = np.empty(2 * buckets + 2, dtype=np.int64)
    at[0], at[1:-1:2], at[2:-1:2], at[-1] = 0, first, second, -1
    # A bucket whose minimum and maximum are one point keeps it once.
    keep = np.ones(at.size, dtype=bool)
    keep[2:-1:2] = first != second
    at = at[keep]
    return _take(steps, at), values[at].tolist()


def _first_extremes(pick: np.ufunc, values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Each bucket's first position holding its extreme (np.fmin or np.fmax), NaNs skipped.

    Bucket k is values[bounds[k]:bounds[k + 1]]. A bucket of only NaNs gets its start,
    so one of its NaNs stays and the chart shows a gap.
    """
    import numpy as np

    starts = bounds[:-1]
    body = values[: bounds[-1]]
    # fmin/fmax pass over NaNs: NaN only for a bucket of NaNs.
    extremes = pick.reduceat(body, starts)
    # Positions equal to their bucket's extreme (a NaN equals nothing); the first at or
    # after a bucket's start is inside that bucket, which holds its own extreme.
    hits = np.flatnonzero(body[starts[0] :] == np.repeat(extremes, np.diff(bounds)))
    hits += starts[0]
    if not hits.size:
        return starts.copy()
    first = hits[np.minimum(np.searchsorted(hits, starts), hits.size - 1)]
    return np.where(np.isnan(extremes), starts, first)


def _as_list(items) -> list:
    import numpy as np

    return items.tolist() if isinstance(items, np.ndarray) else list(items)


def _take(items, at: np.ndarray) -> list:
    """items[i] for each position in `at`, as Python objects."""
    import numpy as np

    if isinstance(items, np.ndarray):
        return items[at].tolist()
    return list(map(items.__getitem__, at.tolist()))
