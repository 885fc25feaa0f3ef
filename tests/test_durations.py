"""How durations read: the long form of pages and email, the short one of table cells."""

from datetime import timedelta

import pytest

from runs.durations import duration_short, duration_text


@pytest.mark.parametrize(
    ("delta", "long", "short"),
    [
        (None, "", ""),
        (timedelta(seconds=-3), "0.0 s", "0s"),
        (timedelta(seconds=12.44), "12.4 s", "12s"),
        (timedelta(minutes=3, seconds=5), "3 min 05 s", "3m 05s"),
        (timedelta(hours=1, minutes=2, seconds=9), "1 h 02 min", "1h 02m"),
        (timedelta(days=2, hours=3, minutes=4), "2 d 03 h 04 min", "2d 03h"),
    ],
)
def test_durations_read_the_same_everywhere(delta, long, short):
    assert duration_text(delta) == long
    assert duration_short(delta) == short
