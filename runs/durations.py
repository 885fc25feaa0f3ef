"""How durations read in the studio's pages and messages."""

from __future__ import annotations

from datetime import timedelta


def duration_text(delta: timedelta | None) -> str:
    """`1 d 02 h 05 min`, `1 h 02 min`, `3 min 05 s`, `12.4 s`; empty before a run starts."""
    if delta is None:
        return ""
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours:02d} h {minutes:02d} min"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s"


def duration_short(delta: timedelta | None) -> str:
    """`4h 02m`, `3m 12s`, `45s`: short and comparable by eye, for table cells."""
    if delta is None:
        return ""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
