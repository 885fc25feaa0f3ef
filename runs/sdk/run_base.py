"""The state every part of a Run shares: its id, studio connection, document, buffers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runs.sdk.heartbeat import heartbeater
from runs.sdk.sender import MetricSender, SenderOptions

if TYPE_CHECKING:
    from runs.sdk.http import Client


class RunBase:
    """A run of an experiment: the state shared by its parts (runs.sdk.run_*).

    Runs this process started (`Experiment.start_logging`, `child_run`,
    `create_children`) are *owned*: they heartbeat, and `cancel()` ends them
    at once. Runs found with `get_runs`/`get_children`, submitted ones, or
    `Run(experiment, run_id)` are not: `cancel()` asks their own process to stop.
    """

    def __init__(
        self,
        experiment: Any,
        run_id: str,
        *,
        document: dict | None = None,
        owned: bool = False,
        heartbeat: bool | None = None,
        heartbeat_interval: float = 1.0,
        options: SenderOptions | None = None,
        flush_timeout: float | None = None,
    ):
        self.experiment = experiment
        self.id = run_id
        self._client: Client = experiment.workspace._client
        self._doc = document
        self._owned = owned
        self.heartbeat_interval = heartbeat_interval
        self.flush_timeout = flush_timeout
        self._sender = MetricSender(self._client, run_id, options or experiment.workspace.options)
        self._points = self._sender.points
        self._steps: dict[str, int] = {}
        # Names of this run's text series (strings, booleans): a series keeps its kind.
        self._texts: set[str] = set()
        self._on_cancel: Callable[[Any], None] | None = None
        self._end_lock = threading.RLock()
        self._ended = False
        self._cancel_seen = False
        self._parent: RunBase | None = None
        # Children this object created (owned like it): an own cancel() ends them quietly too.
        self._children: list[RunBase] = []
        self._creator: RunBase | None = None
        if heartbeat if heartbeat is not None else owned:
            heartbeater.add(self)

    def __repr__(self) -> str:
        return f"Run(experiment={self.experiment.name!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunBase) and other.id == self.id and other._client is self._client

    def __hash__(self) -> int:
        return hash(self.id)

    def _path(self, suffix: str = "") -> str:
        return self._client.ws_path(f"/runs/{self.id}{suffix}")

    def _remember(self, document: dict) -> dict:
        self._doc = document
        return document

    def _document(self) -> dict:
        return self._doc if self._doc is not None else self.get_details(log_files=False)

    def get_details(self, *, log_files: bool = True) -> dict:
        """The run document (see docs/api.md), plus `logFiles` {name: download URL}."""
        document = self._remember(self._client.json("GET", self._path()))
        if not log_files:
            return document
        files = self._client.json("GET", self._path("/files"))["files"]
        content = self._client.api + self._path("/files/content")
        return {
            **document,
            "logFiles": {
                f["name"]: f"{content}?name={_quote(f['name'])}"
                for f in files
                if f["kind"] == "log"
            },
        }

    def get_status(self) -> str:
        return self.get_details(log_files=False)["status"]


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
