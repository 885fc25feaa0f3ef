"""Metrics of a run: `log` appends to an in-memory buffer that runs.sdk.sender sends."""

from __future__ import annotations

import atexit
import logging
import operator
import time
import weakref
from collections.abc import Iterable
from typing import Any

from runs.sdk.errors import StudioError
from runs.sdk.names import check_name, metric_value
from runs.sdk.run_base import RunBase

logger = logging.getLogger("runs.sdk")

# Runs with metric points, or not created yet: created and flushed (bounded) when the
# interpreter exits.
live_runs: weakref.WeakSet[RunBase] = weakref.WeakSet()
EXIT_FLUSH_TIMEOUT = 30.0

_time = time.time


def exit_watch(run: RunBase) -> None:
    """Create and flush `run` at interpreter exit, if it still needs it then."""
    live_runs.add(run)


class MetricsPart(RunBase):
    """log, log_list, log_row, flush, get_metrics."""

    def log(self, name: str, value: float | str | bool, step: int | None = None) -> None:
        """Log one point of the metric `name`; `step` defaults to the metric's previous step + 1.

        `value` is a number, or a string or a boolean: a text series, which the studio
        shows as a table of values. A series keeps the kind of its first value.
        Costs about a microsecond: the point is appended to an in-memory buffer
        that a background thread sends in batches.
        """
        steps = self._steps
        last = steps.get(name)
        if last is None:
            check_name("metric", name)
            last = 0
        if value.__class__ is not float or name in self._texts:
            value = self._checked(name, value, new=name not in steps)
        step = last if step is None else operator.index(step)
        steps[name] = step + 1
        points = self._points
        points.append((name, value, step, _time()))
        if len(points) >= self._sender.threshold:
            self._sender.pressure()
            live_runs.add(self)

    def _checked(self, name: str, value: Any, *, new: bool) -> float | str | bool:
        """The value as sent; TypeError when it changes the kind of its series."""
        value = metric_value(value)
        is_text = value.__class__ is not float
        if new and is_text:
            self._texts.add(name)
        elif is_text != (name in self._texts):
            had, got = ("text", "a number") if not is_text else ("numbers", "text")
            raise TypeError(f"metric {name!r} holds {had}: it cannot take {got} ({value!r})")
        return value

    def log_list(self, name: str, values: Iterable[float]) -> None:
        """Log each value as the next point of `name` (steps go on from the metric's last)."""
        for value in values:
            self.log(name, value)

    def log_row(self, name: str, **values: float) -> None:
        """Log one point per keyword into series `<name>/<key>` (a table row, column by column).

        `run.log_row("eval", acc=0.9, loss=0.3)` logs `eval/acc` and `eval/loss`;
        an empty `name` logs the keys as they are.
        """
        if not values:
            raise ValueError("log_row needs at least one column: log_row(name, key=value, ...)")
        for key, value in values.items():
            self.log(f"{name}/{key}" if name else key, value)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every point logged so far is stored; raise if the studio refused some."""
        if self._creation is not None:
            self._create()
        self._sender.flush(timeout)

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        """`{name: value}` for a metric with one point, `{name: [values]}` for several; text
        series give their strings and booleans."""
        if name is not None:
            check_name("metric", name)
        self.flush(self.flush_timeout)
        latest = self._client.json("GET", self._path("/metrics"))["metrics"]
        out: dict[str, Any] = {}
        for metric, info in latest.items():
            if name is not None and metric != name:
                continue
            if info["count"] == 1 and info.get("kind", "number") == "number":
                out[metric] = info["value"]
            else:
                values = self._client.json(
                    "GET", self._path("/metrics/series"), params={"name": metric}
                )["values"]
                out[metric] = values[0] if len(values) == 1 else values
        return out


@atexit.register
def _flush_at_exit() -> None:
    """Send what is still buffered when the interpreter exits (bounded: it may be away).

    One time budget for all runs, not one each: a sweep of a hundred runs must not keep
    the interpreter for an hour when the studio is gone.
    """
    deadline = time.monotonic() + EXIT_FLUSH_TIMEOUT
    for run in list(live_runs):
        # A run left unfinished stays in the studio as it would have been (Running, until
        # its heartbeat is missed), even if nothing about it was sent yet.
        if run._creation is not None and run._create_error is None:
            try:
                run._create()
            except StudioError as exc:
                logger.error("run %s: not created at exit: %s", run.id, exc)
    waiting = [run for run in list(live_runs) if run._sender.pending()]
    for run in waiting:
        # Wake every run's sender thread before waiting on any.
        run._sender.start()
        run._sender.wake.set()
    for run in waiting:
        try:
            run._sender.flush(max(0.0, deadline - time.monotonic()))
        except StudioError as exc:
            logger.error("run %s: metric points lost at exit: %s", run.id, exc)
