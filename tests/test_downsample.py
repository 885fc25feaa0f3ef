"""Chart downsampling keeps endpoints and extremes within a bounded size."""

import math
import random
from array import array

import numpy as np
import pytest

from runs.downsample import minmax


def test_short_series_come_back_unchanged():
    assert minmax([1, 2, 3], [0.5, 0.1, 0.7], max_points=10) == ([1, 2, 3], [0.5, 0.1, 0.7])


@pytest.mark.parametrize("n", [2001, 10_000, 100_000])
@pytest.mark.parametrize("max_points", [4, 100, 2000])
def test_size_is_bounded_and_endpoints_kept(n, max_points):
    rng = random.Random(n)
    steps = list(range(n))
    values = [rng.gauss(0, 1) for _ in range(n)]
    s, v = minmax(steps, values, max_points=max_points)
    assert len(s) == len(v) <= max_points
    assert (s[0], v[0]) == (0, values[0])
    assert (s[-1], v[-1]) == (n - 1, values[-1])
    assert s == sorted(s)


def test_global_extremes_survive_even_single_spikes():
    values = [0.0] * 100_000
    values[31_337] = 1e6
    values[77_777] = -1e6
    s, v = minmax(list(range(100_000)), values, max_points=200)
    assert 1e6 in v
    assert -1e6 in v
    assert s[v.index(1e6)] == 31_337


def test_every_bucket_keeps_its_min_and_max():
    values = [math.sin(i / 50) for i in range(10_000)]
    s, v = minmax(list(range(10_000)), values, max_points=500)
    assert max(v) == max(values)
    assert min(v) == min(values)


def test_nan_buckets_stay_visible_as_gaps():
    values = [1.0] * 5000 + [math.nan] * 5000 + [2.0] * 5000
    _, v = minmax(list(range(15_000)), values, max_points=100)
    assert any(math.isnan(x) for x in v)
    assert 1.0 in v
    assert 2.0 in v


def test_too_small_a_budget_is_refused():
    with pytest.raises(ValueError, match="at least 4"):
        minmax([1] * 10, [1.0] * 10, max_points=3)


def _reference_minmax(steps, values, max_points):
    """The plain definition, a bucket at a time: what the fast minmax must equal."""
    n = len(values)
    if n <= max_points:
        return list(steps), list(values)
    buckets = (max_points - 2) // 2
    out_s, out_v = [steps[0]], [values[0]]
    for b in range(buckets):
        lo = 1 + (b * (n - 2)) // buckets
        hi = 1 + ((b + 1) * (n - 2)) // buckets
        chunk = list(values[lo:hi])
        finite = [v for v in chunk if not math.isnan(v)]
        if not finite:
            out_s.append(steps[lo])
            out_v.append(math.nan)
            continue
        for i in sorted({lo + chunk.index(min(finite)), lo + chunk.index(max(finite))}):
            out_s.append(steps[i])
            out_v.append(values[i])
    out_s.append(steps[-1])
    out_v.append(values[-1])
    return out_s, out_v


@pytest.mark.parametrize(
    "kind", ["gauss", "nan", "nan-every-7th", "only-nan", "inf", "few-levels", "constant"]
)
@pytest.mark.parametrize("container", ["list", "array", "memoryview", "numpy"])
def test_equals_the_plain_definition(kind, container):
    rng = random.Random(kind)
    n = 7_919
    values = [rng.gauss(0, 1) for _ in range(n)]
    if kind == "nan":
        for i in rng.sample(range(n), 200):
            values[i] = math.nan
    elif kind == "nan-every-7th":
        values = [math.nan if i % 7 == 0 else v for i, v in enumerate(values)]
    elif kind == "only-nan":
        values = [math.nan] * n
        values[n // 2] = 1.0
    elif kind == "inf":
        values = [
            math.inf if i % 5 == 0 else -math.inf if i % 5 == 1 else v for i, v in enumerate(values)
        ]
    elif kind == "few-levels":
        values = [float(rng.randint(0, 3)) for _ in range(n)]
    elif kind == "constant":
        values = [1.0] * n
    steps = list(range(0, 3 * n, 3))
    expected = _reference_minmax(steps, values, 300)
    if container == "array":
        steps, values = array("q", steps), array("d", values)
    elif container == "memoryview":
        steps = memoryview(array("q", steps).tobytes()).cast("q")
        values = memoryview(array("d", values).tobytes()).cast("d")
    elif container == "numpy":
        steps, values = np.array(steps, dtype="<i8"), np.array(values, dtype="<f8")
    got = minmax(steps, values, 300)
    assert got[0] == expected[0]
    assert [repr(v) for v in got[1]] == [repr(v) for v in expected[1]]


def _random_values(rng: random.Random, n: int, pattern: str, width: int) -> list[float]:
    """Values with NaNs, infinities, signed zeros and repeats, some runs of NaN `width` long."""
    if pattern == "levels":
        return [rng.choice((0.0, -0.0, 1.0, 2.0, math.nan)) for _ in range(n)]
    extras = (math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, 1.0)
    values = [rng.choice(extras) if rng.random() < 0.3 else rng.gauss(0, 1) for _ in range(n)]
    if pattern == "nan-runs":
        # Whole buckets of NaNs, and buckets where NaNs sit next to infinities.
        for _ in range(1 + n // (4 * width)):
            lo = rng.randrange(n)
            for i in range(lo, min(n, lo + rng.randint(1, 3 * width))):
                values[i] = math.nan
            values[rng.randrange(n)] = rng.choice((math.inf, -math.inf))
    return values


@pytest.mark.parametrize("pattern", ["mixed", "nan-runs", "levels"])
@pytest.mark.parametrize("max_points", [4, 5, 7, 10, 64, 301, 2000])
def test_equals_the_plain_definition_around_bucket_edges(max_points, pattern):
    rng = random.Random(f"{max_points}-{pattern}")
    lengths = [1, 2, 3, max_points - 1, max_points, max_points + 1]
    lengths = [max_points + d for d in lengths] + [3 * max_points + 7]
    if max_points in (4, 301, 2000):
        lengths.append(100_000)
    for n in lengths:
        width = max(1, n // max(1, (max_points - 2) // 2))
        values = _random_values(rng, n, pattern, width)
        steps = sorted(rng.sample(range(10 * n), n))
        expected = _reference_minmax(steps, values, max_points)
        for s, v in (
            (steps, values),
            (np.array(steps, dtype="<i8"), np.array(values, dtype="<f8")),
        ):
            got_s, got_v = minmax(s, v, max_points)
            assert got_s == expected[0], (n, type(s))
            assert [repr(x) for x in got_v] == [repr(x) for x in expected[1]], (n, type(s))
            assert all(type(x) is int for x in got_s)
            assert all(type(x) is float for x in got_v)


def test_numpy_input_comes_back_as_plain_lists():
    s, v = minmax(np.arange(3), np.array([0.5, math.nan, 0.7]), max_points=10)
    assert s == [0, 1, 2]
    assert all(type(x) is int for x in s)
    assert [repr(x) for x in v] == ["0.5", "nan", "0.7"]
