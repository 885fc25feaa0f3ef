"""Run: one run of an experiment; metrics, status, tags, properties, children, files."""

from __future__ import annotations

import atexit
import logging
import operator
import os
import shutil
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runs.sdk.errors import ConflictError, StudioConnectionError, StudioError
from runs.sdk.heartbeat import TERMINAL, heartbeater, interrupt_main
from runs.sdk.sender import MetricSender, SenderOptions

if TYPE_CHECKING:
    from runs.sdk.workspace import Experiment

logger = logging.getLogger("runs.sdk")

MAX_KEY = 255
MAX_ERROR_CODE = 100
MAX_ERROR_MESSAGE = 10_000
PAGE = 500
# Statuses a run of a submitted script may still be in when the script starts.
NOT_RUNNING_YET = frozenset({"NotStarted", "Queued", "Preparing", "Starting"})
# Roots whose tree already got a KeyboardInterrupt: a cancel cascades to every child,
# and the main thread must be interrupted once, not once per child.
_interrupted_roots: set[str] = set()
# Runs with metric points, flushed (bounded) when the interpreter exits.
_live: weakref.WeakSet[Run] = weakref.WeakSet()
EXIT_FLUSH_TIMEOUT = 30.0

_time = time.time


def _value(value: Any) -> float:
    if isinstance(value, str | bytes):
        raise TypeError(f"a metric value must be a number, not {type(value).__name__} {value!r}")
    return float(value)


def check_name(kind: str, name: Any) -> str:
    """A metric, tag or property name as the studio takes it; TypeError/ValueError otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"a {kind} name must be a string, not {type(name).__name__} {name!r}")
    if not name.strip():
        raise ValueError(f"a {kind} name must not be empty")
    if len(name) > MAX_KEY:
        raise ValueError(f"{kind} name {name[:40]!r}… is {len(name)} characters; max {MAX_KEY}")
    if any(ord(c) < 32 for c in name):
        raise ValueError(f"{kind} name {name!r} contains a control character")
    return name


class Run:
    """A run of an experiment.

    Runs this process started (`Experiment.start_logging`, `child_run`,
    `create_children`) are *owned*: they heartbeat, and `cancel()` ends them
    at once. Runs found with `get_runs`/`get_children` or `Run(experiment,
    run_id)` are not: `cancel()` asks their own process to stop.

    `with run:` completes the run when the block ends, fails it when the block
    raises (error code: the exception's class name; message: its text; details:
    the traceback), and marks it Canceled on KeyboardInterrupt (a cancel, or
    Ctrl-C). SystemExit(0) completes it.
    """

    def __init__(
        self,
        experiment: Experiment,
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
        self._client = experiment.workspace._client
        self._doc = document
        self._owned = owned
        self.heartbeat_interval = heartbeat_interval
        self.flush_timeout = flush_timeout
        self._sender = MetricSender(self._client, run_id, options or experiment.workspace.options)
        self._points = self._sender.points
        self._steps: dict[str, int] = {}
        self._on_cancel: Callable[[Run], None] | None = None
        self._end_lock = threading.RLock()
        self._ended = False
        self._cancel_seen = False
        self._parent: Run | None = None
        # Children this object created (owned like it): an own cancel() ends them quietly too.
        self._children: list[Run] = []
        self._creator: Run | None = None
        if heartbeat if heartbeat is not None else owned:
            heartbeater.add(self)

    def __repr__(self) -> str:
        return f"Run(experiment={self.experiment.name!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id and other._client is self._client

    def __hash__(self) -> int:
        return hash(self.id)

    # ---- requests -------------------------------------------------------------------

    def _path(self, suffix: str = "") -> str:
        return self._client.ws_path(f"/runs/{self.id}{suffix}")

    def _remember(self, document: dict) -> dict:
        self._doc = document
        return document

    def _document(self) -> dict:
        return self._doc if self._doc is not None else self.get_details(log_files=False)

    # ---- metrics --------------------------------------------------------------------

    def log(self, name: str, value: float, step: int | None = None) -> None:
        """Log one point of the metric `name`; `step` defaults to the metric's previous step + 1.

        Costs about a microsecond: the point is appended to an in-memory buffer
        that a background thread sends in batches.
        """
        steps = self._steps
        last = steps.get(name)
        if last is None:
            check_name("metric", name)
            last = 0
        step = last if step is None else operator.index(step)
        steps[name] = step + 1
        points = self._points
        points.append((name, value if value.__class__ is float else _value(value), step, _time()))
        if len(points) >= self._sender.threshold:
            self._sender.pressure()
            _live.add(self)

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
        self._sender.flush(timeout)

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        """`{name: value}` for a metric with one point, `{name: [values]}` for several."""
        if name is not None:
            check_name("metric", name)
        self.flush(self.flush_timeout)
        latest = self._client.json("GET", self._path("/metrics"))["metrics"]
        out: dict[str, Any] = {}
        for metric, info in latest.items():
            if name is not None and metric != name:
                continue
            if info["count"] == 1:
                out[metric] = info["value"]
            else:
                series = self._client.json(
                    "GET", self._path("/metrics/series"), params={"name": metric}
                )
                out[metric] = series["values"]
        return out

    # ---- status ---------------------------------------------------------------------

    def get_status(self) -> str:
        return self.get_details(log_files=False)["status"]

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

    def _move(self, action: str, target: str, body: dict | None = None) -> dict:
        """POST complete/fail/cancel; a 409 because it already happened (a lost answer) is fine."""
        try:
            return self._remember(
                self._client.json("POST", self._path(f"/{action}"), json_body=body or {})
            )
        except ConflictError:
            document = self.get_details(log_files=False)
            if document["status"] == target:
                return document
            raise

    def _end(self, action: str, target: str, body: dict | None = None) -> dict:
        """Flush the metrics, stop heartbeats, then move the run (once)."""
        with self._end_lock:
            if self._ended and self._doc is not None and self._doc["status"] == target:
                return self._doc
            heartbeater.remove(self)
            refused: StudioError | None = None
            try:
                self._sender.close(self.flush_timeout)
            except StudioConnectionError:
                raise
            except StudioError as exc:
                refused = exc
            document = self._move(action, target, body)
            self._ended = True
            if refused is not None:
                raise refused
            return document

    def complete(self) -> None:
        """Flush the metrics and mark the run Completed."""
        self._end("complete", "Completed")

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        """Flush the metrics and mark the run Failed.

        `error_details`: an exception (message: its text; details: its type and
        traceback), a string (the message), or any JSON value (the details).
        `error_code` defaults to the exception's class name, else "UserError".
        """
        body: dict[str, Any] = {}
        if isinstance(error_details, BaseException):
            body["message"] = str(error_details) or type(error_details).__name__
            body["details"] = {
                "type": f"{type(error_details).__module__}.{type(error_details).__qualname__}",
                "traceback": "".join(traceback.format_exception(error_details))[-20_000:],
            }
            error_code = error_code or type(error_details).__name__
        elif isinstance(error_details, str):
            body["message"] = error_details
        elif error_details is not None:
            body["details"] = error_details
        if "message" in body:
            body["message"] = body["message"][:MAX_ERROR_MESSAGE]
        if error_code:
            body["errorCode"] = str(error_code)[:MAX_ERROR_CODE]
        self._end("fail", "Failed", body)

    def cancel(self) -> None:
        """Cancel the run and its unfinished descendants.

        A run this process owns is Canceled at once (metrics flushed, heartbeats
        stopped, no KeyboardInterrupt). Any other run is asked to stop: it is
        CancelRequested until its process notices (or Canceled at once when
        nothing executes it yet).
        """
        if self._owned:
            family = self._owned_descendants()
            # Quiet first: the studio cancels them with this run, and their heartbeats must
            # not take that for someone else's cancel.
            for run in family:
                heartbeater.remove(run)
                run._cancel_seen = True
            for run in family:
                run._close_sender()
            self._end("cancel", "Canceled", {"immediate": True})
            for run in family:
                run._ended = True
                if run._doc is not None and run._doc.get("status") not in TERMINAL:
                    run._doc["status"] = "Canceled"
        else:
            self._remember(self._client.json("POST", self._path("/cancel"), json_body={}))

    def _owned_descendants(self) -> list[Run]:
        """The children this process created from this run, theirs, and so on."""
        out: list[Run] = []
        todo = list(self._children)
        while todo:
            run = todo.pop()
            out.append(run)
            todo.extend(run._children)
        return out

    def _close_sender(self) -> None:
        """Send what this run logged; a refusal or an absent studio is logged, not raised."""
        try:
            self._sender.close(self.flush_timeout)
        except StudioError as exc:
            logger.error("run %s: %s", self.id, exc)

    def on_cancel(self, callback: Callable[[Run], None] | None) -> None:
        """Call `callback(run)` (in a background thread) instead of interrupting the main thread
        when someone cancels this run; the run is then marked Canceled. None restores the
        KeyboardInterrupt. Children created from this run afterwards, or before, use the
        callback of their nearest ancestor that has one."""
        self._on_cancel = callback

    def _cancel_callback(self) -> Callable[[Run], None] | None:
        run: Run | None = self
        while run is not None:
            if run._on_cancel is not None:
                return run._on_cancel
            run = run._creator
        return None

    def _cancel_requested(self) -> None:
        """The heartbeat learnt of a cancel: callback or KeyboardInterrupt, then Canceled."""
        if self._cancel_seen:
            return
        self._cancel_seen = True
        logger.warning("run %s: cancel requested; stopping", self.id)
        callback = self._cancel_callback()
        if callback is not None:
            try:
                callback(self)
            except Exception:
                logger.exception("run %s: the on_cancel callback failed", self.id)
        else:
            root = (self._doc or {}).get("rootRunId") or self.id
            if root not in _interrupted_roots:
                _interrupted_roots.add(root)
                interrupt_main()
        # Not a daemon: the interpreter waits for it, so a KeyboardInterrupt that ends the
        # script still lets the run be marked Canceled.
        threading.Thread(
            target=self._finish_cancel, name=f"studio-cancel-{self.id}", daemon=False
        ).start()

    def _finish_cancel(self) -> None:
        try:
            if self._owned:
                # As an own cancel: the children this process created stop heartbeating now,
                # rather than each noticing the same cancel at its next heartbeat.
                self.cancel()
            else:
                self._end("cancel", "Canceled", {"immediate": True})
        except StudioError as exc:
            logger.error("run %s: could not mark the run Canceled: %s", self.id, exc)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        clean = exc_type is None or (issubclass(exc_type, SystemExit) and exc.code in (0, None))
        if clean and not self._cancel_seen:
            self.complete()
            return False
        try:
            if self._cancel_seen or issubclass(exc_type, KeyboardInterrupt):
                self._end("cancel", "Canceled", {"immediate": True})
            else:
                self.fail(error_details=exc, error_code=exc_type.__name__)
        except StudioError as error:
            # The block's own exception matters more; say why the run was not ended.
            logger.error("run %s: could not record the end of the run: %s", self.id, error)
        return False

    # ---- tags, properties, description ----------------------------------------------

    def tag(self, key: str, value: Any = None) -> None:
        """Set a tag; without a value, a key-only tag."""
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set several tags at once (a None value: a key-only tag)."""
        for key in tags:
            check_name("tag", key)
        self._tags_patch({"set": dict(tags)})

    def remove_tags(self, keys: Iterable[str]) -> None:
        keys = [keys] if isinstance(keys, str) else list(keys)
        self._tags_patch({"remove": keys})

    def _tags_patch(self, body: dict) -> dict:
        tags = self._client.json("PATCH", self._path("/tags"), json_body=body)["tags"]
        if self._doc is not None:
            self._doc["tags"] = tags
        return tags

    def get_tags(self) -> dict[str, str | None]:
        return self.get_details(log_files=False)["tags"]

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add immutable properties; a key that exists with another value raises ConflictError."""
        for key in properties:
            check_name("property", key)
        body = {"properties": dict(properties)}
        result = self._client.json("POST", self._path("/properties"), json_body=body)
        if self._doc is not None:
            self._doc["properties"] = result["properties"]

    def get_properties(self) -> dict[str, str]:
        return self.get_details(log_files=False)["properties"]

    @property
    def description(self) -> str:
        """The markdown description (as last read or written by this object)."""
        return self._document().get("description") or ""

    @description.setter
    def description(self, text: str) -> None:
        self._update({"description": text})

    @property
    def display_name(self) -> str:
        return self._document().get("displayName") or ""

    @display_name.setter
    def display_name(self, name: str) -> None:
        self._update({"displayName": name})

    def _update(self, body: dict) -> None:
        self._remember(self._client.json("PATCH", self._path(), json_body=body))

    # ---- family ---------------------------------------------------------------------

    @property
    def parent(self) -> Run | None:
        """The parent run (None for a top-level run)."""
        parent_id = self._document().get("parentRunId")
        if parent_id is None:
            return None
        if self._parent is None or self._parent.id != parent_id:
            self._parent = Run(self.experiment, parent_id)
        return self._parent

    def _child(self, document: dict) -> Run:
        child = Run(
            self.experiment,
            document["runId"],
            document=document,
            owned=True,
            heartbeat_interval=self.heartbeat_interval,
            options=self._sender.options,
            flush_timeout=self.flush_timeout,
        )
        child._creator = self
        self._children.append(child)
        return child

    def child_run(self, name: str | None = None) -> Run:
        """A new Running child run (id `<this id>_<n>`), owned by this process."""
        body: dict[str, Any] = {"count": 1}
        if name is not None:
            body["displayNames"] = [name]
        return self._create_children(body)[0]

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: list[Any] | None = None,
    ) -> list[Run]:
        """`count` children in one request; with `tag_values`, one child per value, each tagged
        `tag_key=value`."""
        body: dict[str, Any] = {}
        if tag_values is not None:
            body["tagValues"] = list(tag_values)
            if count is not None:
                body["count"] = count
        else:
            body["count"] = 1 if count is None else count
        if tag_key is not None:
            body["tagKey"] = tag_key
        return self._create_children(body)

    def _create_children(self, body: dict) -> list[Run]:
        # Not idempotent: resent only when the request never left.
        answer = self._client.json("POST", self._path("/children"), json_body=body, retry="unsent")
        return [self._child(d) for d in answer["runs"]]

    def get_children(
        self,
        recursive: bool = False,
        tags: Any = None,
        properties: Any = None,
        status: str | Iterable[str] | None = None,
    ) -> list[Run]:
        """The children (every descendant with `recursive`), newest first, filtered like
        `Experiment.get_runs`; `status` is one status or several."""
        params: list[tuple[str, str]] = [("recursive", "true" if recursive else "false")]
        params += filter_params(tags, properties, status)
        return list(iter_pages(self.experiment.workspace, self._path("/children"), params, PAGE))

    # ---- files ----------------------------------------------------------------------

    def upload_file(self, name: str, path: str | os.PathLike, *, kind: str = "output") -> dict:
        """Store the local file `path` as the run's file `name` (a relative path); `kind` is
        "output" or "log". A file of the same name is replaced."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no file at {path}")

        def attempt() -> Any:
            with open(path, "rb") as fh:
                return self._client.send(
                    "POST",
                    self._path("/files"),
                    files={"file": (path.name, fh)},
                    data={"name": name, "kind": kind},
                    timeout=max(self._client.timeout, 600),
                )

        return self._client.retrying(attempt).json()

    def get_file_names(self) -> list[str]:
        return [f["name"] for f in self._client.json("GET", self._path("/files"))["files"]]

    def download_file(self, name: str, output_path: str | os.PathLike) -> Path:
        """Save the run's file `name` at `output_path` (into it, when it is a directory)."""
        target = Path(output_path)
        if target.is_dir() or str(output_path).endswith(("/", os.sep)):
            target = target / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        response = self._client.request(
            "GET", self._path("/files/content"), params={"name": name}, stream=True
        )
        partial = target.with_name(target.name + ".part")
        with response, open(partial, "wb") as fh:
            shutil.copyfileobj(response.raw, fh)
        partial.replace(target)
        return target

    # ---- context --------------------------------------------------------------------

    @classmethod
    def get_context(cls) -> Run | OfflineRun:
        """The run of a submitted script (from STUDIO_RUN_ID, STUDIO_URL, STUDIO_TOKEN,
        STUDIO_WORKSPACE); elsewhere an OfflineRun that prints what it would log."""
        run_id = os.environ.get("STUDIO_RUN_ID")
        if not run_id:
            return OfflineRun()
        from runs.sdk.workspace import Experiment, Workspace

        ws = Workspace.from_config()
        document = ws._client.json("GET", ws._client.ws_path(f"/runs/{run_id}"))
        experiment = Experiment(workspace=ws, name=document["experiment"])
        run = cls(experiment, run_id, document=document, owned=True, heartbeat=False)
        if document["status"] in NOT_RUNNING_YET:
            # The script is what runs: a queued (or preparing) run is Running from now on.
            try:
                run._remember(
                    ws._client.json("POST", run._path("/status"), json_body={"status": "Running"})
                )
            except ConflictError:
                # Moved meanwhile (by its executor, or cancelled): the studio's status stands.
                run.get_details(log_files=False)
        # Its executor heartbeats and ends it; the script owns it for cancel().
        return run


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _pairs(kind: str, spec: Any) -> list[str]:
    """`{"k": "v", "flag": None}`, `"flag"` or `["a", "b"]` -> `["k=v", "flag"]`."""
    if spec is None:
        return []
    if isinstance(spec, str):
        spec = {spec: None}
    elif not isinstance(spec, dict):
        spec = dict.fromkeys(spec)
    out = []
    for key, value in spec.items():
        check_name(kind, key)
        if "=" in key:
            raise ValueError(f"{kind} {key!r}: a key with '=' can only be matched with filter=")
        out.append(key if value is None else f"{key}={value}")
    return out


def filter_params(tags: Any, properties: Any, status: Any) -> list[tuple[str, str]]:
    """Query parameters of the run lists (tag, property, status; each may repeat)."""
    params = [("tag", t) for t in _pairs("tag", tags)]
    params += [("property", p) for p in _pairs("property", properties)]
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        params += [("status", s) for s in statuses]
    return params


def iter_pages(workspace: Any, path: str, params: list, per_page: int) -> Iterator[Run]:
    """Runs of a list endpoint, a page at a time (each run once, even if pages shift)."""
    from runs.sdk.workspace import Experiment

    seen: set[str] = set()
    experiments: dict[str, Experiment] = {}
    page = 1
    while True:
        answer = workspace._client.json(
            "GET", path, params=[*params, ("page", str(page)), ("perPage", str(per_page))]
        )
        for document in answer["runs"]:
            if document["runId"] in seen:
                continue
            seen.add(document["runId"])
            name = document["experiment"]
            experiment = experiments.get(name) or experiments.setdefault(
                name, Experiment(workspace=workspace, name=name)
            )
            yield Run(experiment, document["runId"], document=document)
        if not answer["hasMore"] or not answer["runs"]:
            return
        page += 1


class OfflineRun:
    """What `Run.get_context()` gives outside a submitted script: nothing is sent anywhere;
    each call prints one line (`[offline run] ...`) to stdout and values are kept in memory,
    so `get_metrics()`, `get_tags()` and the like still answer."""

    id = "OfflineRun"
    experiment = None
    parent = None

    def __init__(self, stream: Any = None) -> None:
        self._stream = stream
        self._metrics: dict[str, list[float]] = {}
        self._tags: dict[str, str | None] = {}
        self._properties: dict[str, str] = {}
        self._status = "Running"
        self.description = ""
        self.display_name = ""

    def _say(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(f"[offline run] {text}\n")
        stream.flush()

    def __repr__(self) -> str:
        return "OfflineRun()"

    def __enter__(self) -> OfflineRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.complete()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.cancel()
        else:
            self.fail(error_details=exc, error_code=exc_type.__name__)
        return False

    def log(self, name: str, value: float, step: int | None = None) -> None:
        check_name("metric", name)
        value = _value(value)
        self._metrics.setdefault(name, []).append(value)
        at = f" (step {step})" if step is not None else ""
        self._say(f"log {name} = {value!r}{at}")

    def log_list(self, name: str, values: Iterable[float]) -> None:
        for value in values:
            self.log(name, value)

    def log_row(self, name: str, **values: float) -> None:
        for key, value in values.items():
            self.log(f"{name}/{key}" if name else key, value)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        return {
            k: v[0] if len(v) == 1 else list(v)
            for k, v in self._metrics.items()
            if name is None or k == name
        }

    def get_status(self) -> str:
        return self._status

    def get_details(self) -> dict:
        return {
            "runId": self.id,
            "status": self._status,
            "displayName": self.display_name,
            "description": self.description,
            "tags": dict(self._tags),
            "properties": dict(self._properties),
        }

    def complete(self) -> None:
        self._status = "Completed"
        self._say("complete")

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        self._status = "Failed"
        self._say(f"fail {error_code or 'UserError'}: {error_details}")

    def cancel(self) -> None:
        self._status = "Canceled"
        self._say("cancel")

    def on_cancel(self, callback: Callable[..., None] | None) -> None:
        return None

    def tag(self, key: str, value: Any = None) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            check_name("tag", key)
            self._tags[key] = None if value is None else str(value)
            self._say(f"tag {key}" + ("" if value is None else f" = {value!r}"))

    def remove_tags(self, keys: Iterable[str]) -> None:
        for key in [keys] if isinstance(keys, str) else keys:
            self._tags.pop(key, None)
            self._say(f"remove tag {key}")

    def get_tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        for key, value in properties.items():
            check_name("property", key)
            self._properties[key] = str(value)
            self._say(f"property {key} = {value!r}")

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    def upload_file(self, name: str, path: str | os.PathLike, **kwargs: Any) -> None:
        self._say(f"upload {path} as {name}")

    def get_file_names(self) -> list[str]:
        return []

    def child_run(self, name: str | None = None) -> OfflineRun:
        self._say(f"child run {name or ''}".rstrip())
        return OfflineRun(self._stream)

    def create_children(
        self, count: int | None = None, tag_key: str | None = None, tag_values: Any = None
    ) -> list[OfflineRun]:
        n = len(tag_values) if tag_values is not None else (count or 1)
        self._say(f"create {n} children")
        return [OfflineRun(self._stream) for _ in range(n)]

    def get_children(self, *args: Any, **kwargs: Any) -> list[OfflineRun]:
        return []


@atexit.register
def _flush_at_exit() -> None:
    """Send what is still buffered when the interpreter exits (bounded: it may be away).

    One time budget for all runs, not one each: a sweep of a hundred runs must not keep
    the interpreter for an hour when the studio is gone.
    """
    deadline = time.monotonic() + EXIT_FLUSH_TIMEOUT
    waiting = [run for run in list(_live) if run._sender.pending()]
    for run in waiting:
        # Wake every run's sender thread before waiting on any.
        run._sender.start()
        run._sender.wake.set()
    for run in waiting:
        try:
            run._sender.flush(max(0.0, deadline - time.monotonic()))
        except StudioError as exc:
            logger.error("run %s: metric points lost at exit: %s", run.id, exc)
