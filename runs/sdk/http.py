"""The HTTP session: bearer token, JSON, retries with backoff for transient failures."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import requests

from runs.sdk import errors

log = logging.getLogger("runs.sdk")

# Worth another try: the server is restarting, overloaded or briefly unreachable.
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


def backoff(attempt: int, *, base: float = 0.2, cap: float = 10.0) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): exponential, capped, with jitter."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto


class Http:
    """Requests to one studio's /api/ with one token."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, retries: int = 5):
        self.base = url.rstrip("/") + "/api"
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["User-Agent"] = "run-history-studio-sdk"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        files: Any = None,
        data: Any = None,
        retries: int | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """The response of a 2xx answer; StudioError subclasses otherwise.

        Connection errors and RETRY_STATUSES are retried `retries` times with backoff
        (None: the session's default; a negative number: until it works).
        """
        budget = self.retries if retries is None else retries
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method,
                    self.base + path,
                    json=json,
                    params=params,
                    files=files,
                    data=data,
                    timeout=self.timeout,
                    stream=stream,
                )
            except requests.RequestException as exc:
                if budget >= 0 and attempt > budget:
                    raise errors.ServerUnavailable(
                        f"cannot reach {self.base}: {exc.__class__.__name__}"
                    ) from None
                log.debug("%s %s failed (%s); retrying", method, path, exc)
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES or (budget >= 0 and attempt > budget):
                    raise _error(response)
                log.debug("%s %s answered %s; retrying", method, path, response.status_code)
            if files is not None:
                for handle in _file_handles(files):
                    handle.seek(0)
            time.sleep(backoff(attempt))

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, body: Any = None, **kwargs) -> Any:
        return self.request("POST", path, json=body if body is not None else {}, **kwargs).json()

    def patch(self, path: str, body: Any, **kwargs) -> Any:
        return self.request("PATCH", path, json=body, **kwargs).json()


def _error(response: requests.Response) -> errors.StudioError:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    return errors.from_response(
        response.status_code, payload, f"HTTP {response.status_code} from {response.url}"
    )


def _file_handles(files: Any) -> list:
    values = files.values() if isinstance(files, dict) else [v for _, v in files]
    handles = []
    for value in values:
        handle = value[1] if isinstance(value, tuple) else value
        if hasattr(handle, "seek"):
            handles.append(handle)
    return handles
