"""Run: one training run — metrics, tags, properties, children, files, status."""

from __future__ import annotations

import _thread
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runs.sdk import config
from runs.sdk.errors import ConflictError, StudioError

if TYPE_CHECKING:
    from runs.sdk.experiment import Experiment
    from runs.sdk.workspace import Workspace

log = logging.getLogger("runs.sdk")

TERMINAL = ("Completed", "Failed", "Canceled")


def filter_params(*, tags=None, properties=None, status=None) -> dict[str, Any]:
    """Query parameters for the run list: tag/property `k=v` or `k`, repeated status."""
    params: dict[str, Any] = {}
    for name, value in (("tag", tags), ("property", properties)):
        if value is None:
            continue
        if isinstance(value, str):
            params[name] = [value]
        elif isinstance(value, dict):
            params[name] = [k if v is None else f"{k}={v}" for k, v in value.items()]
        else:
            params[name] = list(value)
    if status:
        params["status"] = [status] if isinstance(status, str) else list(status)
    return params


class Run:
    """A run of an experiment. Get one from `exp.start_logging()`, `Run.get_context()`,
    `Run.get(workspace, run_id)`, `exp.get_runs()` or a parent's `child_run()`."""

    def __init__(
        self,
        experiment: Experiment,
        run_id: str,
        *,
        _document: dict | None = None,
        _owned: bool = False,
    ):
        self.experiment = experiment
        self.id = run_id
        self._doc = _document
        self._owned = _owned
        self._steps: dict[str, int] = {}
        self._cancel_callback: Callable[[Run], Any] | None = None
        self._finish_lock = threading.Lock()
        self._cancel_requested = False
        self._finished = False

    # -- construction ------------------------------------------------------------------

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        """The run `run_id` of the workspace."""
        from runs.sdk.experiment import Experiment

        doc = workspace._http.get(f"{workspace._prefix}/runs/{run_id}")
        return cls(Experiment(workspace, doc["experiment"]), run_id, _document=doc)

    @classmethod
    def get_context(cls, **workspace_kwargs: Any) -> Run:
        """Inside a submitted script, its run (STUDIO_RUN_ID, STUDIO_URL, STUDIO_TOKEN,
        STUDIO_WORKSPACE); anywhere else, an offline run that prints what it would log."""
        run_id = os.environ.get(config.ENV_RUN_ID)
        if not run_id:
            return OfflineRun()
        from runs.sdk.workspace import Workspace

        settings = config.load()
        ws = Workspace(settings.url, settings.token, settings.workspace, **workspace_kwargs)
        run = cls.get(ws, run_id)
        run._owned = True
        run._resume_steps()
        if run._doc["status"] in ("NotStarted", "Queued", "Preparing", "Starting"):
            run._doc = ws._http.post(f"{run._path}/status", {"status": "Running"})
        ws._heartbeat.watch(run)
        return run

    @classmethod
    def _paged(
        cls, experiment: Experiment, path: str, params: dict, page_size: int
    ) -> Iterator[Run]:
        from runs.sdk.experiment import Experiment

        ws = experiment.workspace
        page = 1
        while True:
            answer = ws._http.get(path, params={**params, "page": page, "perPage": page_size})
            for doc in answer["runs"]:
                exp = experiment if doc["experiment"] == experiment.name else None
                yield cls(exp or Experiment(ws, doc["experiment"]), doc["runId"], _document=doc)
            if not answer.get("hasMore"):
                return
            page += 1

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, experiment={self.experiment.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def _ws(self) -> Workspace:
        return self.experiment.workspace

    @property
    def _path(self) -> str:
        return f"{self._ws._prefix}/runs/{self.id}"

    def _document(self) -> dict:
        if self._doc is None:
            self._doc = self._ws._http.get(self._path)
        return self._doc

    # -- context manager -----------------------------------------------------------------

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.complete()
        elif issubclass(exc_type, KeyboardInterrupt) and self._cancel_requested:
            self._finish_canceled()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.cancel()
        else:
            self.fail(error_details=f"{exc_type.__name__}: {exc}", error_code=exc_type.__name__)
        return False

    # -- metrics -------------------------------------------------------------------------

    def log(self, name: str, value: float, step: int | None = None) -> None:
        """Log one point of the metric `name` (step: the next one of this metric)."""
        if step is None:
            step = self._steps.get(name, 0)
        self._steps[name] = step + 1
        self._ws._sender.add(self.id, name, step, value)

    def log_list(self, name: str, values: list[float]) -> None:
        """Log several points of the metric `name`, at the next steps."""
        start = self._steps.get(name, 0)
        steps = list(range(start, start + len(values)))
        self._steps[name] = start + len(values)
        self._ws._sender.add_many(self.id, name, steps, [float(v) for v in values])

    def log_row(self, name: str, **values: float) -> None:
        """Log one point of each `name/key` metric at one shared step (a table row)."""
        step = max((self._steps.get(f"{name}/{k}", 0) for k in values), default=0)
        for key, value in values.items():
            self.log(f"{name}/{key}", value, step=step)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every point logged so far is stored; raise if the server refused some."""
        self._ws._sender.flush(timeout)
        self._ws._sender.raise_for(self.id)

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        """{name: value} for a metric with one point, {name: [values]} for a series."""
        self.flush()
        latest = self._ws._http.get(f"{self._path}/metrics")["metrics"]
        names = [name] if name is not None else sorted(latest)
        out: dict[str, Any] = {}
        for metric in names:
            info = latest.get(metric)
            if info is None:
                continue
            if info["count"] == 1:
                out[metric] = info["value"]
            else:
                series = self._ws._http.get(f"{self._path}/metrics/series", params={"name": metric})
                out[metric] = series["values"]
        return out

    def _resume_steps(self) -> None:
        """Continue each metric after its last logged step (a run attached to again)."""
        latest = self._ws._http.get(f"{self._path}/metrics")["metrics"]
        self._steps = {name: info["step"] + 1 for name, info in latest.items()}

    # -- status --------------------------------------------------------------------------

    def get_status(self) -> str:
        self._doc = None
        return self._document()["status"]

    def get_details(self) -> dict:
        """The run document: runId, status, target, startTimeUtc, endTimeUtc, properties,
        tags, submittedBy, displayName, error, logFiles, ..."""
        self._doc = None
        details = dict(self._document())
        files = self._ws._http.get(f"{self._path}/files")["files"]
        details["logFiles"] = {f["name"]: f["size"] for f in files if f["kind"] == "log"}
        return details

    def _set_document(self, doc: dict) -> None:
        self._doc = doc
        if doc["status"] in TERMINAL:
            self._ws._heartbeat.forget(self)

    def complete(self) -> None:
        """Mark the run Completed (after sending every metric point)."""
        self._ws._sender.flush()
        with self._finish_lock:
            if self._finished:
                return
            try:
                self._set_document(self._ws._http.post(f"{self._path}/complete"))
            except ConflictError:
                if self.get_status() != "CancelRequested":
                    raise
                self._set_document(self._ws._http.post(f"{self._path}/cancel", {"immediate": True}))
            self._finished = True
        self._ws._sender.raise_for(self.id)

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        """Mark the run Failed with an error code and message (or details)."""
        self._ws._sender.flush()
        body: dict[str, Any] = {}
        if error_code:
            body["errorCode"] = str(error_code)[:100]
        if isinstance(error_details, str):
            body["message"] = error_details[:10_000]
        elif error_details is not None:
            body["details"] = error_details
            body["message"] = str(error_details)[:10_000]
        with self._finish_lock:
            if not self._finished:
                self._set_document(self._ws._http.post(f"{self._path}/fail", body))
                self._finished = True

    def cancel(self) -> None:
        """Cancel the run and its unfinished children.

        A run this process started ends Canceled at once (no interrupt of its own
        code); any other run gets a cancel request that its own process honours.
        """
        if self._owned:
            self._ws._sender.flush()
            with self._finish_lock:
                self._set_document(self._ws._http.post(f"{self._path}/cancel", {"immediate": True}))
                self._finished = True
            self._ws._heartbeat.forget(self)
        else:
            self._set_document(self._ws._http.post(f"{self._path}/cancel", {}))

    def on_cancel(self, callback: Callable[[Run], Any]) -> None:
        """Call `callback(run)` when someone cancels this run, instead of interrupting
        the main thread with KeyboardInterrupt. The run is then marked Canceled."""
        self._cancel_callback = callback

    def _on_cancel_requested(self) -> None:
        """The heartbeat learned of a cancel: stop the user's code, then mark Canceled."""
        self._cancel_requested = True
        if self._cancel_callback is not None:
            try:
                self._cancel_callback(self)
            except Exception:
                log.exception("the cancel callback of run %s failed", self.id)
        else:
            _thread.interrupt_main()
        self._finish_canceled()

    def _finish_canceled(self) -> None:
        self._ws._sender.flush(timeout=30)
        with self._finish_lock:
            if self._finished:
                return
            # Already ended (somebody else finished it) is fine.
            with contextlib.suppress(ConflictError):
                self._set_document(self._ws._http.post(f"{self._path}/cancel", {"immediate": True}))
            self._finished = True

    # -- text fields ---------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        return self._document()["displayName"]

    @display_name.setter
    def display_name(self, value: str) -> None:
        self._doc = self._ws._http.patch(self._path, {"displayName": value})

    @property
    def description(self) -> str:
        return self._document()["description"]

    @description.setter
    def description(self, value: str) -> None:
        self._doc = self._ws._http.patch(self._path, {"description": value})

    @property
    def status(self) -> str:
        return self._document()["status"]

    @property
    def parent(self) -> Run | None:
        parent_id = self._document()["parentRunId"]
        return None if parent_id is None else Run.get(self._ws, parent_id)

    # -- tags and properties -------------------------------------------------------------

    def tag(self, key: str, value: Any = None) -> None:
        """Set a tag; without a value, a key-only tag."""
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        body = {"set": {k: None if v is None else str(v) for k, v in tags.items()}}
        tags_now = self._ws._http.patch(f"{self._path}/tags", body)["tags"]
        if self._doc is not None:
            self._doc["tags"] = tags_now

    def remove_tags(self, keys: list[str]) -> None:
        tags_now = self._ws._http.patch(f"{self._path}/tags", {"remove": list(keys)})["tags"]
        if self._doc is not None:
            self._doc["tags"] = tags_now

    def get_tags(self) -> dict[str, str | None]:
        self._doc = None
        return self._document()["tags"]

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add immutable properties (ConflictError if a key already has another value)."""
        body = {"properties": {k: str(v) for k, v in properties.items()}}
        now = self._ws._http.post(f"{self._path}/properties", body)["properties"]
        if self._doc is not None:
            self._doc["properties"] = now

    def get_properties(self) -> dict[str, str]:
        self._doc = None
        return self._document()["properties"]

    # -- children ------------------------------------------------------------------------

    def child_run(self, name: str | None = None) -> Run:
        """A new Running child run (id `<this id>_<n>`)."""
        body: dict[str, Any] = {"count": 1}
        if name:
            body["displayNames"] = [name]
        return self._children(body)[0]

    def create_children(
        self,
        count: int | None = None,
        tag_key: str | None = None,
        tag_values: list | None = None,
    ) -> list[Run]:
        """`count` Running children in one request; with `tag_key` and `tag_values`,
        one child per value, tagged `tag_key=value`."""
        body: dict[str, Any] = {}
        if tag_values is not None:
            body["tagKey"] = tag_key
            body["tagValues"] = [str(v) for v in tag_values]
        else:
            body["count"] = count if count is not None else 1
        return self._children(body)

    def _children(self, body: dict) -> list[Run]:
        docs = self._ws._http.post(f"{self._path}/children", body)["runs"]
        children = [Run(self.experiment, d["runId"], _document=d, _owned=True) for d in docs]
        for child in children:
            self._ws._heartbeat.watch(child)
        return children

    def get_children(
        self,
        recursive: bool = False,
        tags: dict | str | list | None = None,
        properties: dict | str | list | None = None,
        status: str | list | None = None,
        *,
        page_size: int = 100,
    ) -> Iterator[Run]:
        """This run's children (all descendants with `recursive`), newest first."""
        params = filter_params(tags=tags, properties=properties, status=status)
        if recursive:
            params["recursive"] = "true"
        yield from Run._paged(self.experiment, f"{self._path}/children", params, page_size)

    # -- files ---------------------------------------------------------------------------

    def upload_file(
        self, name: str, path_or_stream: str | os.PathLike, kind: str = "output"
    ) -> dict:
        """Upload a local file as the run's file `name` ("outputs/model.pt")."""
        with open(path_or_stream, "rb") as fh:
            response = self._ws._http.request(
                "POST",
                f"{self._path}/files",
                files={"file": (Path(name).name, fh)},
                data={"name": name, "kind": kind},
            )
        return response.json()

    def get_file_names(self) -> list[str]:
        return [f["name"] for f in self._ws._http.get(f"{self._path}/files")["files"]]

    def download_file(self, name: str, output_path: str | os.PathLike | None = None) -> Path:
        """Save the run's file `name` to `output_path` (a folder or a file name)."""
        target = Path(output_path) if output_path else Path(Path(name).name)
        if target.is_dir():
            target = target / Path(name).name
        response = self._ws._http.request(
            "GET", f"{self._path}/files/content", params={"name": name}, stream=True
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as fh:
            for chunk in response.iter_content(chunk_size=1 << 16):
                fh.write(chunk)
        return target

    def read_log(self, name: str, offset: int = 0) -> tuple[bytes, int]:
        """The bytes of file `name` from `offset`, and the file's size now (the next offset)."""
        response = self._ws._http.request(
            "GET", f"{self._path}/files/content", params={"name": name, "offset": offset}
        )
        return response.content, int(response.headers.get("X-File-Size", offset))


class OfflineRun:
    """What `Run.get_context()` returns outside a submitted script: it prints what it
    would log, so a script runs unchanged on a laptop."""

    id = "OfflineRun"
    display_name = "offline"
    description = ""
    status = "Running"
    parent = None

    def __init__(self) -> None:
        self._tags: dict[str, str | None] = {}
        self._properties: dict[str, str] = {}
        self._metrics: dict[str, list] = {}

    def __enter__(self) -> OfflineRun:
        return self

    def __exit__(self, *exc: object) -> bool:
        return False

    def _say(self, text: str) -> None:
        print(f"[offline run] {text}")  # noqa: T201 - printing is this class's job

    def log(self, name: str, value: float, step: int | None = None) -> None:
        self._metrics.setdefault(name, []).append(value)
        self._say(f"log {name} = {value}" + ("" if step is None else f" (step {step})"))

    def log_list(self, name: str, values: list[float]) -> None:
        for value in values:
            self.log(name, value)

    def log_row(self, name: str, **values: float) -> None:
        for key, value in values.items():
            self.log(f"{name}/{key}", value)

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        items = self._metrics.items() if name is None else [(name, self._metrics.get(name, []))]
        return {k: v[0] if len(v) == 1 else list(v) for k, v in items if v}

    def flush(self, timeout: float | None = None) -> None:
        return None

    def tag(self, key: str, value: Any = None) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        self._tags.update({k: None if v is None else str(v) for k, v in tags.items()})
        self._say(f"tags {tags}")

    def remove_tags(self, keys: list[str]) -> None:
        for key in keys:
            self._tags.pop(key, None)

    def get_tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        self._properties.update({k: str(v) for k, v in properties.items()})
        self._say(f"properties {properties}")

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    def get_status(self) -> str:
        return self.status

    def complete(self) -> None:
        self._say("complete")

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        self._say(f"fail {error_code or ''} {error_details or ''}".rstrip())

    def cancel(self) -> None:
        self._say("cancel")

    def on_cancel(self, callback: Callable) -> None:
        return None

    def upload_file(self, name: str, path_or_stream: Any, kind: str = "output") -> None:
        self._say(f"upload {path_or_stream} as {name}")


__all__ = ["OfflineRun", "Run", "StudioError"]
