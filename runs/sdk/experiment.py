"""Experiment: a named group of runs in a workspace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from runs.sdk.run import Run, filter_params

if TYPE_CHECKING:
    from runs.sdk.workspace import Workspace


class Experiment:
    """`Experiment(workspace=ws, name="explore-runs")`; created on its first run."""

    def __init__(self, workspace: Workspace, name: str):
        self.workspace = workspace
        self.name = name

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r}, workspace={self.workspace.name!r})"

    def start_logging(
        self,
        display_name: str | None = None,
        *,
        description: str | None = None,
        tags: dict | None = None,
        properties: dict | None = None,
        target: str = "local",
        heartbeat: bool = True,
    ) -> Run:
        """A new Running run; as a context manager it completes on exit, fails on an error."""
        body: dict = {"experiment": self.name, "target": target}
        if display_name:
            body["displayName"] = display_name
        if description:
            body["description"] = description
        if tags:
            body["tags"] = {k: None if v is None else str(v) for k, v in tags.items()}
        if properties:
            body["properties"] = {k: str(v) for k, v in properties.items()}
        doc = self.workspace._http.post(f"{self.workspace._prefix}/runs", body)
        run = Run(self, doc["runId"], _document=doc, _owned=True)
        if heartbeat:
            self.workspace._heartbeat.watch(run)
        return run

    def get_runs(
        self,
        tags: dict | str | list | None = None,
        properties: dict | str | list | None = None,
        include_children: bool = False,
        *,
        status: str | list | None = None,
        page_size: int = 100,
    ) -> Iterator[Run]:
        """Runs of this experiment, newest first, fetched a page at a time as you iterate.

        `tags={"quality": "fantastic run"}` matches key and value; `tags="worth another
        look"` (or a list of keys) matches runs that have the key.
        """
        params = filter_params(tags=tags, properties=properties, status=status)
        params["experiment"] = self.name
        if include_children:
            params["includeChildren"] = "true"
        yield from Run._paged(self, f"{self.workspace._prefix}/runs", params, page_size)
