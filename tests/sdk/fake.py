"""A tiny in-process stand-in for the studio's JSON API that records every request.

Enough of the API for the SDK's unit tests (runs, metrics with idempotency keys,
heartbeat, status moves, tags, lists), and scriptable: `studio.script(method,
pattern, *answers)` makes the next matching requests get those answers, where
an answer is `(status, body)` (a body of bytes is sent as it is), DROP (close
the connection without answering, before handling) or LOSE (handle the
request, then close without answering).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DROP = "drop"
LOSE = "lose"


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    # The client's (address, port): which connection carried the request.
    peer: tuple | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class FakeStudio:
    requests: list[Recorded] = field(default_factory=list)
    # run id -> metric name -> list of (step, value)
    points: dict[str, dict[str, list[tuple[int, float]]]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    runs: dict[str, dict] = field(default_factory=dict)
    cancel_requested: set[str] = field(default_factory=set)
    scripted: list[list] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    counter: int = 0

    def script(self, method: str, pattern: str, *answers: Any) -> None:
        """The next len(answers) requests matching `method` and the path regex get these."""
        with self.lock:
            self.scripted.append([method, re.compile(pattern), list(answers)])

    def sent(self, method: str, pattern: str) -> list[Recorded]:
        rx = re.compile(pattern)
        with self.lock:
            return [r for r in self.requests if r.method == method and rx.search(r.path)]

    def batches(self) -> list[Recorded]:
        return self.sent("POST", r"/metrics$")

    def answer_for(self, request: Recorded) -> Any:
        with self.lock:
            self.requests.append(request)
            for entry in self.scripted:
                method, rx, answers = entry
                if answers and method == request.method and rx.search(request.path):
                    return answers.pop(0)
        return None

    # ---- the default API -------------------------------------------------------------

    def document(self, run_id: str, **fields: Any) -> dict:
        doc = {
            "runId": run_id,
            "experiment": run_id.split("_")[0],
            "displayName": "",
            "status": "Running",
            "parentRunId": None,
            "rootRunId": run_id.split("_c")[0],
            "target": "local",
            "submittedBy": "sdk",
            "createdUtc": "2026-11-28T16:00:00Z",
            "startTimeUtc": "2026-11-28T16:00:00Z",
            "endTimeUtc": None,
            "tags": {},
            "properties": {},
            "description": "",
            "metrics": {},
            "error": None,
            "url": f"{self.url}/w/team/runs/{run_id}/",
        }
        doc.update(fields)
        self.runs[run_id] = doc
        return doc

    def store(self, key: str | None, batches: list[tuple[str, list[dict]]]) -> tuple[int, Any]:
        """A metric batch of one run or several (the caller holds the lock)."""
        if key in self.keys:
            return 200, {"stored": 0, "duplicate": True}
        self.keys.add(key)
        n = 0
        for run_id, series in batches:
            for s in series:
                points = self.points.setdefault(run_id, {}).setdefault(s["name"], [])
                points.extend(zip(s["steps"], s["values"], strict=True))
                n += len(s["values"])
        return 200, {"stored": n, "duplicate": False}

    def handle(self, r: Recorded) -> tuple[int, Any]:
        parts = r.path.split("/")  # ["", "api", "w", ws, "runs", id, action]
        body = r.json or {}
        with self.lock:
            if r.path.endswith("/runs") and r.method == "POST":
                self.counter += 1
                run_id = body.get("runId") or f"{body['experiment']}_{self.counter}"
                if run_id in self.runs:
                    return 409, {"error": {"code": "Conflict", "message": f"run {run_id} exists"}}
                doc = self.document(
                    run_id, tags=body.get("tags") or {}, displayName=body.get("displayName", "")
                )
                if body.get("metrics"):  # its first points, stored with it
                    self.store(body["metrics"].get("key"), [(run_id, body["metrics"]["series"])])
                if body.get("complete"):
                    doc["status"] = "Completed"
                return 201, doc
            if r.path.endswith("/runs") and r.method == "GET":
                return 200, {"runs": [], "page": 1, "perPage": 100, "total": 0, "hasMore": False}
            if r.path.endswith("/metrics") and len(parts) == 5 and r.method == "POST":
                return self.store(
                    body.get("key"), [(b["runId"], b["series"]) for b in body["runs"]]
                )
            if r.path.endswith("/heartbeats") and r.method == "POST":
                found = {
                    i: {
                        "status": self.runs[i]["status"],
                        "cancelRequested": i in self.cancel_requested,
                    }
                    for i in body["runIds"]
                    if i in self.runs
                }
                return 200, {
                    "runs": found,
                    "missing": [i for i in body["runIds"] if i not in found],
                }
            run_id = parts[5] if len(parts) > 5 else ""
            action = parts[6] if len(parts) > 6 else ""
            doc = self.runs.get(run_id) or self.document(run_id)
            if action == "metrics" and r.method == "POST":
                return self.store(body.get("key"), [(run_id, body["series"])])
            if action == "heartbeat":
                cancel = run_id in self.cancel_requested
                return 200, {"status": doc["status"], "cancelRequested": cancel}
            moves = {"complete": "Completed", "fail": "Failed", "cancel": "Canceled"}
            if action in moves:
                if body.get("metrics"):  # the run's last points, stored with its end
                    self.store(body["metrics"].get("key"), [(run_id, body["metrics"]["series"])])
                doc["status"] = moves[action]
                if action == "fail":
                    doc["error"] = {
                        "code": body.get("errorCode") or "UserError",
                        "message": body.get("message", ""),
                    }
                return 200, doc
            if action == "tags":
                doc["tags"].update(body.get("set") or {})
                for key in body.get("remove") or []:
                    doc["tags"].pop(key, None)
                return 200, {"tags": doc["tags"]}
            if action == "" and r.method == "PATCH":
                doc.update(body)
                return 200, doc
            if action == "" and r.method == "GET":
                return 200, doc
        return 404, {"error": {"code": "NotFound", "message": f"no fake for {r.path}"}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    studio: FakeStudio

    def log_message(self, *args: Any) -> None:
        return None

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        recorded = Recorded(
            self.command,
            url.path,
            parse_qsl(url.query),
            dict(self.headers.items()),
            body,
            self.client_address,
        )
        answer = self.studio.answer_for(recorded)
        if answer == DROP:
            self.close_connection = True
            self.connection.close()
            return
        more: list = []
        if answer is None or answer == LOSE:
            status, payload = self.studio.handle(recorded)
            if answer == LOSE:
                self.close_connection = True
                self.connection.close()
                return
        else:
            status, payload, *more = answer  # (status, payload[, headers])
        headers = more[0] if more else {}
        # bytes: sent as they are (what a proxy in the way might answer), else JSON.
        raw = isinstance(payload, bytes)
        data = payload if raw else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if raw else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = _serve


class FakeServer:
    """Serves a FakeStudio on 127.0.0.1 in a thread (over TLS with a server context `tls`)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.studio = FakeStudio()
        handler = type("Handler", (_Handler,), {"studio": self.studio})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.studio.url = self.url
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
