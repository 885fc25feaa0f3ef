"""Chart downsampling keeps endpoints and extremes within a bounded size."""

import math
import random

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
