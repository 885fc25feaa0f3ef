"""The state every part of a Run shares: its id, studio connection, document, buffers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runs.sdk.errors import ConflictError, StudioConnectionError, StudioError
from runs.sdk.heartbeat import heartbeater
from runs.sdk.http import RETRY_STATUSES
from runs.sdk.sender import MetricSender, SenderOptions

if TYPE_CHECKING:
    from runs.sdk.http import Client

logger = logging.getLogger("runs.sdk")


class RunBase:
    """A run of an experiment: the state shared by its parts (runs.sdk.run_*).

    Runs this process started (`Experiment.start_logging`, `child_run`,
    `create_children`) are *owned*: they heartbeat, and `cancel()` ends them
    at once. Runs found with `get_runs`/`get_children`, submitted ones, or
    `Run(experiment, run_id)` are not: `cancel()` asks their own process to stop.

    A run `start_logging` makes is created with its first request (`creation`: the
    body of its create request, its id made here): by the sender within a flush
    interval, by any call on the run, or by its end, which then carries its points
    and its completion in the same request, so a short run costs one request.
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
        creation: dict | None = None,
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
        # Set when its end begins: a create that completes meanwhile starts no heartbeat.
        self._ending = False
        self._cancel_seen = False
        self._parent: RunBase | None = None
        # Children this object created (owned like it): an own cancel() ends them quietly too.
        self._children: list[RunBase] = []
        self._creator: RunBase | None = None
        self._heartbeat = heartbeat if heartbeat is not None else owned
        self._creation = creation
        self._create_lock = threading.Lock()
        self._create_error: StudioError | None = None
        self._started = time.monotonic()
        if creation is not None:
            self._sender.prepare = self._create
            self._sender.create_by = self._started + self._sender.options.flush_interval
            self._sender.start()
        elif self._heartbeat:
            heartbeater.add(self)

    def __repr__(self) -> str:
        return f"Run(experiment={self.experiment.name!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunBase) and other.id == self.id and other._client is self._client

    def __hash__(self) -> int:
        return hash(self.id)

    def _path(self, suffix: str = "") -> str:
        """The API path of this run: every request about it goes there, so the studio
        is first told of a run it does not know yet."""
        if self._creation is not None:
            self._create()
        return self._client.ws_path(f"/runs/{self.id}{suffix}")

    def _create(self, end: dict | None = None) -> bool:
        """Create the run if the studio has not been told of it yet; True if this call did.

        `end` (its `metrics` and `complete`) goes in the same request. The id was made
        here, so the request is sent again after a lost answer: a 409 then means it was
        stored. A refusal of the run itself (without `end`) stays: logged, raised by
        every later call on the run, and by its next `log()`.
        """
        with self._create_lock:
            if self._creation is None:
                return False
            if self._create_error is not None:
                raise self._create_error
            ago = max(0.0, time.monotonic() - self._started)
            body = {**self._creation, "startedSecondsAgo": round(ago, 6), **(end or {})}
            path = self._client.ws_path("/runs")
            try:
                document = self._client.json("POST", path, json_body=body)
            except ConflictError:
                document = self._client.json("GET", self._client.ws_path(f"/runs/{self.id}"))
            except StudioConnectionError:
                raise
            except StudioError as exc:
                # Still busy or failing after the client's retries: tried again later.
                if end is None and exc.status not in RETRY_STATUSES:
                    logger.error("the studio refused to create run %s: %s", self.id, exc)
                    self._create_error = self._sender.refusal = exc
                    self._sender.threshold = 0  # the next log() asks the sender: raised
                raise
            self._creation = None
            self._sender.prepare = None
            self._remember(document)
            if self._heartbeat and end is None and not self._ending:
                heartbeater.add(self)
            return True

    def _remember(self, document: dict) -> dict:
        self._doc = document
        return document

    def _document(self) -> dict:
        if self._creation is not None:
            self._create()  # its answer is the document
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
