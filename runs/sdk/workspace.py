"""Workspace: a connection to one workspace of a studio."""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Any

from runs.sdk import config
from runs.sdk.heartbeat import Heartbeat
from runs.sdk.http import Http
from runs.sdk.sender import MetricSender

_OPEN: weakref.WeakSet[Workspace] = weakref.WeakSet()


class Workspace:
    """A studio workspace: `Workspace(url=, token=, name=)` or `Workspace.from_config()`."""

    def __init__(
        self,
        url: str,
        token: str,
        name: str,
        *,
        heartbeat_interval: float = 1.0,
        flush_interval: float = 0.5,
        timeout: float = 30.0,
    ):
        self.url = url.rstrip("/")
        self.name = name
        self._http = Http(self.url, token, timeout=timeout)
        self._sender = MetricSender(self._http, name, interval=flush_interval)
        self._heartbeat = Heartbeat(self._http, name, interval=heartbeat_interval)
        _OPEN.add(self)

    @classmethod
    def from_config(cls, path: str | os.PathLike | None = None, **kwargs: Any) -> Workspace:
        """From config.json or .studio/config.json (searched from the current folder up);
        STUDIO_URL, STUDIO_TOKEN and STUDIO_WORKSPACE override the file."""
        settings = config.load(path=path)
        return cls(settings.url, settings.token, settings.workspace, **kwargs)

    def __repr__(self) -> str:
        return f"Workspace(name={self.name!r}, url={self.url!r})"

    @property
    def _prefix(self) -> str:
        return f"/w/{self.name}"

    def experiments(self) -> list[dict]:
        """The workspace's experiments: name, created, runCount, lastActivity."""
        return self._http.get(f"{self._prefix}/experiments")["experiments"]

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every metric point logged so far is stored."""
        return self._sender.flush(timeout)

    def close(self) -> None:
        """Send what is queued and stop the background threads."""
        self._heartbeat.stop()
        self._sender.close()


@atexit.register
def _flush_at_exit() -> None:
    for ws in list(_OPEN):
        ws._sender.flush(timeout=30)
