"""The handles a user holds, which make one another: Workspace (which studio, workspace and
token), Experiment (a named set of runs) and Run.

Run is assembled here from its parts (runs.sdk.run_*: metrics, lifecycle, records,
family), which know nothing of workspaces; `Run.get_context()` opens the workspace
of a submitted script, so it lives beside Workspace.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from runs.sdk import config
from runs.sdk.errors import ConfigError, ConflictError
from runs.sdk.http import Backoff, Client
from runs.sdk.names import PAGE, check_name, filter_params
from runs.sdk.offline import OfflineRun
from runs.sdk.pages import iter_documents
from runs.sdk.run_family import FamilyPart
from runs.sdk.run_lifecycle import LifecyclePart
from runs.sdk.run_metrics import MetricsPart, exit_watch
from runs.sdk.run_records import RecordsPart
from runs.sdk.script import ComputeTarget, ScriptRunConfig
from runs.sdk.sender import SenderOptions, create_pending
from runs.sdk.submit import submit

# Statuses a run of a submitted script may still be in when the script starts.
NOT_RUNNING_YET = frozenset({"NotStarted", "Queued", "Preparing", "Starting"})


class Run(MetricsPart, LifecyclePart, RecordsPart, FamilyPart):
    """A run of an experiment (see runs.sdk.run_base.RunBase for owned runs).

    `with run:` completes the run when the block ends, fails it when the block
    raises (error code: the exception's class name; message: its text; details:
    the traceback), and marks it Canceled on KeyboardInterrupt (a cancel, or
    Ctrl-C). SystemExit(0) completes it.
    """

    @classmethod
    def get_context(cls) -> Run | OfflineRun:
        """The run of a submitted script (from STUDIO_RUN_ID, STUDIO_URL, STUDIO_TOKEN,
        STUDIO_WORKSPACE); elsewhere an OfflineRun that prints what it would log."""
        run_id = os.environ.get("STUDIO_RUN_ID")
        if not run_id:
            return OfflineRun()
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


class Workspace:
    """A workspace of a studio, reached with an API token.

    `Workspace(url=, token=, name=)`, or `Workspace.from_config()`. `options`
    tunes how metric points are batched (see runs.sdk.sender.SenderOptions);
    `heartbeat_interval` is how often the runs this process starts heartbeat
    (and so how soon they notice a cancel); `timeout`, `retries` and `backoff`
    apply to every other request.
    """

    def __init__(
        self,
        url: str,
        token: str,
        name: str,
        *,
        options: SenderOptions | None = None,
        heartbeat_interval: float = 1.0,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: Backoff | None = None,
    ):
        for label, value in (("url", url), ("token", token), ("name", name)):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"Workspace needs a non-empty {label}")
        self.name = name
        self.options = options or SenderOptions()
        if not heartbeat_interval > 0:
            raise ConfigError(f"heartbeat_interval must be positive, not {heartbeat_interval!r}")
        self.heartbeat_interval = heartbeat_interval
        self._client = Client(url, token, name, timeout=timeout, retries=retries, backoff=backoff)

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike | None = None,
        *,
        start: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> Workspace:
        """From `.studio/config.json` or `config.json` in the current directory (or `start`)
        or a parent, or the file `path`; STUDIO_URL, STUDIO_TOKEN, STUDIO_WORKSPACE override."""
        found = config.load(path, start=Path(start) if start is not None else None)
        return cls(found.url, found.token, found.workspace, **kwargs)

    @property
    def url(self) -> str:
        return self._client.url

    def __repr__(self) -> str:
        return f"Workspace(url={self.url!r}, name={self.name!r})"

    def list_experiments(self) -> list[dict]:
        """The workspace's experiments as the API lists them (name, created, runCount, ...)."""
        return self._client.json("GET", self._client.ws_path("/experiments"))["experiments"]

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """The workspace's compute targets by name (`local` always among them)."""
        answer = self._client.json("GET", self._client.ws_path("/compute-targets"))
        return {t["name"]: ComputeTarget.from_document(t) for t in answer["computeTargets"]}

    def get_run(self, run_id: str) -> Run:
        """The run `run_id` of this workspace (NotFoundError when there is none)."""
        create_pending(self._client)
        document = self._client.json("GET", self._client.ws_path(f"/runs/{run_id}"))
        return Run(
            Experiment(workspace=self, name=document["experiment"]), run_id, document=document
        )

    def iter_runs(
        self,
        *,
        experiment: str | None = None,
        tags: Any = None,
        properties: Any = None,
        status: str | Iterable[str] | None = None,
        filter: str | None = None,
        include_children: bool = False,
        page_size: int = 100,
    ) -> Iterator[Run]:
        """Runs newest first, a page of `page_size` at a time; see Experiment.get_runs."""
        params: list[tuple[str, str]] = []
        if experiment is not None:
            params.append(("experiment", experiment))
        params += filter_params(tags, properties, status)
        if filter:
            params.append(("filter", filter))
        if include_children:
            params.append(("includeChildren", "true"))
        if not 1 <= page_size <= PAGE:
            raise ValueError(f"page_size must be 1 to {PAGE}, not {page_size}")
        return self._runs_of(self._client.ws_path("/runs"), params, page_size)

    def _runs_of(self, path: str, params: list, per_page: int) -> Iterator[Run]:
        """The runs of a list endpoint, a page at a time (this process's own among them)."""
        create_pending(self._client)
        experiments: dict[str, Experiment] = {}
        for document in iter_documents(self._client, path, params, per_page):
            name = document["experiment"]
            experiment = experiments.get(name) or experiments.setdefault(
                name, Experiment(workspace=self, name=name)
            )
            yield Run(experiment, document["runId"], document=document)

    def iter_status_events(
        self,
        *,
        experiment: str | None = None,
        status: str | Iterable[str] | None = None,
        run_id: str | None = None,
        since: str | None = None,
        page_size: int = 100,
    ) -> Iterator[dict]:
        """The workspace's status changes, newest first, fetched a page at a time.
        `run_id`: that run's and its descendants'; `since`: an ISO 8601 time."""
        if not 1 <= page_size <= PAGE:
            raise ValueError(f"page_size must be 1 to {PAGE}, not {page_size}")
        params: list[tuple[str, str]] = [("perPage", str(page_size))]
        if experiment is not None:
            params.append(("experiment", experiment))
        statuses = [status] if isinstance(status, str) else list(status or [])
        params += [("status", s) for s in statuses]
        if run_id is not None:
            params.append(("run", run_id))
        if since is not None:
            params.append(("since", since))
        before: int | None = None
        while True:
            page = params + ([("before", str(before))] if before is not None else [])
            answer = self._client.json("GET", self._client.ws_path("/events"), params=page)
            yield from answer["events"]
            before = answer.get("nextBefore")
            if before is None or not answer["events"]:
                return

    def list_alerts(self) -> list[dict]:
        """The workspace's alert rules and your personal ones."""
        return self._client.json("GET", self._client.ws_path("/alerts"))["alerts"]

    def create_alert(self, **rule: Any) -> dict:
        """A new alert rule: the API's fields (`statuses=["Failed"]`, `experiment=`,
        `filter=`, `emails=[...]`, `webhook=`, `runId=`, `submittedByMe=`, ...)."""
        client = self._client
        return client.json("POST", client.ws_path("/alerts"), json_body=rule, retry="unsent")

    def delete_alert(self, alert_id: int) -> None:
        """Delete an alert rule (owners: workspace rules; everyone: their personal ones)."""
        self._client.request("DELETE", self._client.ws_path(f"/alerts/{int(alert_id)}"))


def _new_run_id(experiment: str) -> str:
    """`<experiment>_<seconds>_<8 hex digits>` as the studio makes them, with a letter
    among the 8 (which the studio asks of an id a client made: see docs/api.md)."""
    while True:
        suffix = secrets.token_hex(4)
        if not suffix.isdigit():
            return f"{experiment}_{int(time.time())}_{suffix}"


class Experiment:
    """A named group of runs in a workspace; created on its first run."""

    def __init__(self, workspace: Workspace, name: str):
        check_name("experiment", name)
        self.workspace = workspace
        self.name = name

    def __repr__(self) -> str:
        return f"Experiment(workspace={self.workspace.name!r}, name={self.name!r})"

    def start_logging(
        self,
        display_name: str | None = None,
        *,
        description: str | None = None,
        tags: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        heartbeat_interval: float | None = None,
        options: SenderOptions | None = None,
        flush_timeout: float | None = None,
    ) -> Run:
        """A new Running run, owned by this process (it heartbeats every `heartbeat_interval`
        seconds, by default the workspace's). `with exp.start_logging() as run:` completes
        it when the block ends.

        Returns at once: the run's id is made here, and the studio is told of the run
        with its first request (within a flush interval, or sooner by any call on the
        run; a run that ends before is created, fed and completed in one request). A
        refusal (a bad display name, a token that may not create runs) is raised by the
        run's next call, `log()` included.

        `flush_timeout`: how long complete()/fail()/cancel()/flush() wait for the studio
        to take the buffered metric points (None: as long as it takes).
        """
        run_id = _new_run_id(self.name)
        body: dict[str, Any] = {"experiment": self.name, "runId": run_id}
        if display_name is not None:
            body["displayName"] = display_name
        if description is not None:
            body["description"] = description
        if tags:
            body["tags"] = dict(tags)
        if properties:
            body["properties"] = dict(properties)
        run = Run(
            self,
            run_id,
            creation=body,
            owned=True,
            heartbeat_interval=heartbeat_interval or self.workspace.heartbeat_interval,
            options=options,
            flush_timeout=flush_timeout,
        )
        exit_watch(run)
        return run

    def get_runs(
        self,
        tags: Any = None,
        properties: Any = None,
        include_children: bool = False,
        *,
        status: str | Iterable[str] | None = None,
        filter: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Run]:
        """The experiment's runs, newest first, fetched a page at a time as you iterate.

        `tags={"quality": "fantastic run"}`: that tag has that value;
        `tags="worth another look"` (or a list of keys, or a None value): the tag
        exists. `properties` the same. `status`: one status or several.
        `filter`: the filter language (docs/filter-language).
        """
        return self.workspace.iter_runs(
            experiment=self.name,
            tags=tags,
            properties=properties,
            status=status,
            filter=filter,
            include_children=include_children,
            page_size=page_size,
        )

    def submit(self, config: ScriptRunConfig, tags: dict[str, Any] | None = None) -> Run:
        """Run `config`'s script on its compute target: its folder is uploaded as a snapshot
        and the run is Queued until a worker takes it. Returns the run at once
        (`run.wait_for_completion(show_output=True)` follows it)."""
        spec = config.spec(experiment=self.name)
        if tags:
            spec["tags"] = dict(tags)
        client = self.workspace._client
        document = submit(client, client.ws_path("/submit"), config, spec)
        return Run(self, document["runId"], document=document)
