"""Downsampling of metric series for charts: min/max per bucket, endpoints kept.

A chart is a few hundred to a couple of thousand pixels wide; sending it more
points than that only costs bandwidth. Keeping each bucket's minimum and
maximum (in step order) preserves the peaks a plain stride would drop.
"""

from __future__ import annotations

import math

DEFAULT_MAX_POINTS = 2000


def minmax(steps: list, values: list, max_points: int = DEFAULT_MAX_POINTS) -> tuple[list, list]:
    """At most `max_points` points: the first, the last, and each bucket's min and max.

    NaN values are skipped when finding extremes; a bucket of only NaNs keeps one NaN
    so gaps stay visible.
    """
    n = len(values)
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    if n <= max_points:
        return list(steps), list(values)
    # The endpoints take two slots; each bucket emits up to two points.
    buckets = (max_points - 2) // 2
    out_steps = [steps[0]]
    out_values = [values[0]]
    inner = n - 2
    for b in range(buckets):
        lo = 1 + (b * inner) // buckets
        hi = 1 + ((b + 1) * inner) // buckets
        if lo >= hi:
            continue
        chunk = values[lo:hi]
        finite = [v for v in chunk if not math.isnan(v)] if _has_nan(chunk) else chunk
        if not finite:
            out_steps.append(steps[lo])
            out_values.append(math.nan)
            continue
        i_min = lo + chunk.index(min(finite))
        i_max = lo + chunk.index(max(finite))
        for i in sorted({i_min, i_max}):
            out_steps.append(steps[i])
            out_values.append(values[i])
    out_steps.append(steps[-1])
    out_values.append(values[-1])
    return out_steps, out_values


def _has_nan(chunk: list) -> bool:
    # sum() runs in C and a NaN anywhere makes it NaN, so a finite-looking sum rules NaN
    # out without a Python loop (the loop was most of the time on 100k-point series).
    # inf + -inf is NaN too: such a bucket just takes the exact check below.
    total = sum(chunk)
    if total == total:
        return False
    # NaN is the only float not equal to itself; the generator stops at the first one.
    return any(v != v for v in chunk)
