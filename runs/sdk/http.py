"""The HTTP client under the SDK: token header, one connection pool per thread, retries
with backoff.

It speaks urllib3 directly (what requests sits on): a small request costs the client
35-45% less CPU than it did through requests (bench/README.md, eighth round).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import certifi
import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError

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


def not_sent(exc: Exception | None) -> bool:
    """True when the request surely never reached the server (so even a create may be resent):
    the connection, or the proxy's, was refused or never made (NewConnectionError is a
    ConnectTimeoutError; ProxyError carries its original_error)."""
    while exc is not None:
        if isinstance(exc, ConnectTimeoutError):
            return True
        exc = getattr(exc, "original_error", None)
    return False


class Answer:
    """The studio's answer to one request: `status_code`, `headers` (any case), `content`,
    `text`, `json()`; a streamed answer is read from `raw` and closed after (`with`)."""

    __slots__ = ("status_code", "headers", "raw", "_content")

    def __init__(self, response: urllib3.BaseHTTPResponse, *, stream: bool = False):
        self.status_code = response.status
        self.headers = response.headers
        self.raw = response
        self._content = None if stream else response.data

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self.raw.read()
            self.raw.release_conn()
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.content)

    def __enter__(self) -> Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        # Closed, not pooled: a body read partway would be taken for the next answer.
        self.raw.close()


def _pool(url: str, headers: dict[str, str]) -> urllib3.PoolManager:
    """Connections for one thread: through the environment's proxy for this URL, if any
    (read once, as curl and requests read them), verified against REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE when set, else certifi's bundle (what requests verifies against)."""
    parts = urlsplit(url)
    ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    options: dict[str, Any] = {"headers": headers, "retries": False, "maxsize": 4}
    if parts.scheme == "https":
        options["ca_certs"] = ca or certifi.where()
    proxy = None
    if not proxy_bypass(parts.hostname or ""):
        proxies = getproxies()
        proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return urllib3.PoolManager(**options)
    if "://" not in proxy:
        proxy = "http://" + proxy
    proxied = urlsplit(proxy)
    if proxied.scheme not in ("http", "https"):
        raise StudioError(f"the proxy {proxy!r} is not an http:// or https:// proxy")
    if proxied.username:
        auth = f"{unquote(proxied.username)}:{unquote(proxied.password or '')}"
        options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=auth)
    return urllib3.ProxyManager(proxy, **options)


class Client:
    """Requests to one studio's JSON API for one workspace.

    `request()` raises the StudioError subclass of the answer. Each thread gets its
    own connection pool: the metric sender and the heartbeat run beside user code.
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
        _clients.add(self)
        # The thread sending this connection's metric points (runs.sdk.sender.dispatcher_for).
        self._dispatcher = None

    @property
    def pool(self) -> urllib3.PoolManager:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            headers = {
                "Authorization": f"Bearer {self.token}",
                "User-Agent": f"studio-sdk/{__version__}",
            }
            pool = self._local.pool = _pool(self.url, headers)
        return pool

    def close_session(self) -> None:
        """Close this thread's connections (a thread ending its work)."""
        pool = getattr(self._local, "pool", None)
        if pool is not None:
            del self._local.pool
            pool.clear()

    def ws_path(self, path: str) -> str:
        """`/runs/x` -> `/w/<workspace>/runs/x`."""
        return f"/w/{quote(self.workspace, safe='')}{path}"

    def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | dict[str, str] | None = None,
        headers: dict | None = None,
        params: Any = None,
        files: dict[str, tuple] | None = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> Answer:
        """One attempt; a connection problem is a StudioConnectionError, an error answer raised.

        A dict `data` is sent as a multipart form, with `files`: {field: (filename, bytes
        or binary file[, content type])}.
        """
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif files is not None or isinstance(data, dict):
            fields: dict[str, Any] = dict(data or {})
            for name, (filename, content, *kind) in (files or {}).items():
                body = content if isinstance(content, bytes) else content.read()
                fields[name] = (filename, body, *kind)
            data, headers["Content-Type"] = urllib3.encode_multipart_formdata(fields)
        url = self.api + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        seconds = timeout or self.timeout
        try:
            response = self.pool.request(
                method,
                url,
                body=data,
                headers={**self.pool.headers, **headers} if headers else None,
                timeout=urllib3.Timeout(connect=seconds, read=seconds),
                preload_content=not stream,
                redirect=False,
            )
        except (HTTPError, OSError) as exc:
            error = StudioConnectionError(f"{method} {self.api}{path}: {_reason(exc)}")
            error.not_sent = not_sent(exc)
            raise error from exc
        answer = Answer(response, stream=stream)
        if 300 <= response.status < 400:
            # Not followed: a POST must not become a GET, nor a token go to another host.
            response.drain_conn()
            where = response.headers.get("Location", "elsewhere")
            raise StudioError(
                f"{method} {url}: the server redirects to {where}; set the studio URL to "
                "the address it answers at",
                status=response.status,
            )
        if response.status >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = None
            wait = retry_after(response.headers.get("Retry-After"))
            raise error_for(response.status, body, answer.text, wait=wait)
        return answer

    def request(self, method: str, path: str, *, retry: str = "safe", **kwargs: Any) -> Answer:
        """Send with retries: `retry="safe"` resends after any connection error, 408/429/5xx
        (for idempotent requests); `"unsent"` only when the request never left (creates);
        `"never"` sends once."""
        return self.retrying(lambda: self.send(method, path, **kwargs), retry=retry)

    def retrying(
        self,
        attempt: Callable[[], Answer],
        *,
        retry: str = "safe",
        sleep: Callable[[float], None] = time.sleep,
    ) -> Answer:
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


# Every client of this process, for _forget_connections.
_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def _forget_connections() -> None:
    """In a forked child: the pooled connections are its parent's sockets, and a request
    of each on one socket would mix their bytes. The child's clients open their own."""
    for client in list(_clients):
        client._local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections)


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


def _reason(exc: Exception) -> str:
    """The innermost reason of a connection error, without urllib3's object reprs."""
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
