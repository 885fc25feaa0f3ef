"""The HTTP client under the SDK: token header, one session per thread, retries with backoff."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from runs.sdk import __version__
from runs.sdk.errors import StudioConnectionError, StudioError, error_for, retry_after

logger = logging.getLogger("runs.sdk")

# Answers worth sending the same request again for: throttled, timed out, server trouble.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff, capped, with jitter: attempt n waits base * 2**n, at most cap."""

    base: float = 0.2
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        # "Equal jitter": never less than half the nominal wait, so retries stay spaced out,
        # and never the same for two clients, so they do not come back in lockstep.
        nominal = min(self.cap, self.base * (2 ** min(attempt, 30)))
        return nominal / 2 + random.uniform(0, nominal / 2)  # noqa: S311 - not for security


def not_sent(exc: requests.RequestException) -> bool:
    """True when the request surely never reached the server (so even a create may be resent)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | ConnectionRefusedError)


class Client:
    """Requests to one studio's JSON API for one workspace.

    `request()` raises the StudioError subclass of the answer. Each thread gets its
    own requests.Session: the metric sender and the heartbeat run beside user code.
    """

    def __init__(
        self,
        url: str,
        token: str,
        workspace: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: Backoff | None = None,
    ):
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise StudioError(f"the studio URL must start with http:// or https://, not {url!r}")
        if url.endswith("/api"):
            url = url[: -len("/api")]
        self.url = url
        self.api = url + "/api"
        self.token = token
        self.workspace = workspace
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self._local = threading.local()
        # The thread sending this connection's metric points (runs.sdk.sender.dispatcher_for).
        self._dispatcher = None

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
            session.headers["User-Agent"] = f"studio-sdk/{__version__}"
            # The environment's proxies read once a session, not at every request (a
            # fifth of a small request's time on the client); no ~/.netrc either: the token
            # is the authentication.
            session.proxies.update(requests.utils.get_environ_proxies(self.url))
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                session.verify = bundle
            session.trust_env = False
            self._local.session = session
        return session

    def close_session(self) -> None:
        """Close this thread's session and its connections (a thread ending its work)."""
        session = getattr(self._local, "session", None)
        if session is not None:
            del self._local.session
            session.close()

    def ws_path(self, path: str) -> str:
        """`/runs/x` -> `/w/<workspace>/runs/x`."""
        return f"/w/{requests.utils.quote(self.workspace, safe='')}{path}"

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict | None = None,
        params: Any = None,
        files: Any = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> requests.Response:
        """One attempt; a connection problem is a StudioConnectionError, an error answer raised."""
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers = {**(headers or {}), "Content-Type": "application/json"}
        try:
            response = self.session.request(
                method,
                self.api + path,
                data=data,
                headers=headers,
                params=params,
                files=files,
                stream=stream,
                timeout=timeout or self.timeout,
            )
        except requests.RequestException as exc:
            error = StudioConnectionError(f"{method} {self.api}{path}: {_reason(exc)}")
            error.not_sent = not_sent(exc)
            raise error from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            wait = retry_after(response.headers.get("Retry-After"))
            raise error_for(response.status_code, body, response.text, wait=wait)
        return response

    def request(
        self, method: str, path: str, *, retry: str = "safe", **kwargs: Any
    ) -> requests.Response:
        """Send with retries: `retry="safe"` resends after any connection error, 408/429/5xx
        (for idempotent requests); `"unsent"` only when the request never left (creates);
        `"never"` sends once."""
        return self.retrying(lambda: self.send(method, path, **kwargs), retry=retry)

    def retrying(
        self,
        attempt: Callable[[], requests.Response],
        *,
        retry: str = "safe",
        sleep: Callable[[float], None] = time.sleep,
    ) -> requests.Response:
        """Call `attempt` (one send) until it succeeds, with backoff, at most `retries` again."""
        tries = 0
        while True:
            try:
                return attempt()
            except StudioError as exc:
                if retry == "never" or tries >= self.retries or not _retriable(exc, retry):
                    raise
                delay = wait_before_retry(self.backoff, tries, exc)
                logger.info("%s; retrying in %.1f s", exc, delay)
                sleep(delay)
                tries += 1

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()


def wait_before_retry(backoff: Backoff, attempt: int, exc: StudioError) -> float:
    """The backoff's delay, or longer when the studio asked for a wait (Retry-After)."""
    delay = backoff.delay(attempt)
    if exc.retry_after is not None:
        delay = max(delay, exc.retry_after)
    return delay


def _retriable(exc: StudioError, retry: str) -> bool:
    if isinstance(exc, StudioConnectionError):
        return retry == "safe" or getattr(exc, "not_sent", False)
    if exc.status == 429:
        return True
    return retry == "safe" and exc.status in RETRY_STATUSES


def _reason(exc: requests.RequestException) -> str:
    """The innermost reason of a requests error, without urllib3's object reprs."""
    reason: Any = exc
    while True:
        inner = reason.args[0] if getattr(reason, "args", None) else None
        inner = getattr(inner, "reason", inner)
        if isinstance(inner, BaseException) and inner is not reason:
            reason = inner
            continue
        break
    text = str(reason)
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text or type(reason).__name__
