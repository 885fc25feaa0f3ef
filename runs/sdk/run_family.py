"""A run's family: parent, children created here or submitted, and listing them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runs.sdk.names import PAGE, filter_params
from runs.sdk.pages import iter_documents
from runs.sdk.run_base import RunBase
from runs.sdk.script import ScriptRunConfig
from runs.sdk.submit import submit


class FamilyPart(RunBase):
    """parent, child_run, create_children, get_children, submit_child."""

    @property
    def parent(self) -> FamilyPart | None:
        """The parent run (None for a top-level run)."""
        parent_id = self._document().get("parentRunId")
        if parent_id is None:
            return None
        if self._parent is None or self._parent.id != parent_id:
            self._parent = type(self)(self.experiment, parent_id)
        return self._parent

    def _child(self, document: dict) -> FamilyPart:
        child = type(self)(
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

    def child_run(self, name: str | None = None) -> FamilyPart:
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
    ) -> list[FamilyPart]:
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

    def _create_children(self, body: dict) -> list[FamilyPart]:
        # Not idempotent: resent only when the request never left.
        answer = self._client.json("POST", self._path("/children"), json_body=body, retry="unsent")
        return [self._child(d) for d in answer["runs"]]

    def get_children(
        self,
        recursive: bool = False,
        tags: Any = None,
        properties: Any = None,
        status: str | Iterable[str] | None = None,
    ) -> list[FamilyPart]:
        """The children (every descendant with `recursive`), newest first, filtered like
        `Experiment.get_runs`; `status` is one status or several."""
        params: list[tuple[str, str]] = [("recursive", "true" if recursive else "false")]
        params += filter_params(tags, properties, status)
        documents = iter_documents(self._client, self._path("/children"), params, PAGE)
        return [type(self)(self.experiment, d["runId"], document=d) for d in documents]

    def submit_child(self, config: ScriptRunConfig, *, tags: dict[str, Any] | None = None) -> Any:
        """Submit `config` as a child of this run (Queued for its compute target); returns
        the child at once. A submitted script's own token may do this (parent.py)."""
        spec = config.spec()
        if tags:
            spec["tags"] = dict(tags)
        document = submit(self._client, self._path("/submit-child"), config, spec)
        return type(self)(self.experiment, document["runId"], document=document)
