"""Reading MLflow's stores: a tracking server's REST API, an `mlruns` folder (the file
store) or an MLflow SQLite database, all into the same plain records.

Nothing here touches the studio's database: runs.services.imports writes what these
readers yield. Deleted experiments and runs (lifecycle stage `deleted`) are left out.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

# MLflow's RunStatus, as the file store writes it (an int) and the others (a name).
STATUS_NAMES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
REST_PAGE = 1000
HISTORY_PAGE = 25_000


class MlflowSourceError(Exception):
    """A source that is not an MLflow store, or that cannot be read."""


@dataclass
class Metric:
    """One metric's history, in logged order: steps, values, unix seconds."""

    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def add(self, step: int, value: float, timestamp_ms: int) -> None:
        self.steps.append(int(step))
        self.values.append(float(value))
        self.times.append(int(timestamp_ms) / 1000)

    def in_order(self) -> Metric:
        """The points by time, then step (stores keep them in no particular order)."""
        order = sorted(range(len(self.steps)), key=lambda i: (self.times[i], self.steps[i]))
        return Metric(
            [self.steps[i] for i in order],
            [self.values[i] for i in order],
            [self.times[i] for i in order],
        )


@dataclass
class MlflowRun:
    run_id: str
    experiment: str  # the experiment's name
    name: str
    status: str  # RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_ms: int | None
    end_ms: int | None
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, Metric]

    @property
    def parent_id(self) -> str | None:
        return self.tags.get("mlflow.parentRunId") or None


def open_source(source: str, *, timeout: float = 30.0) -> Iterator[MlflowRun]:
    """The runs of `source`: an http(s) URL, a SQLite file (`sqlite:///path` or a path
    ending in .db/.sqlite), or an `mlruns` folder."""
    if source.startswith(("http://", "https://")):
        return rest_runs(source, timeout=timeout)
    if source.startswith("sqlite:///"):
        return sqlite_runs(Path(source.removeprefix("sqlite:///")))
    path = Path(source)
    if path.is_dir():
        return file_store_runs(path)
    if path.is_file():
        return sqlite_runs(path)
    raise MlflowSourceError(f"{source}: no such folder, file or URL")


# ---- the file store (mlruns/) -------------------------------------------------------------

_YAML_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*))?$")


def read_meta(path: Path) -> dict[str, str | int | None]:
    """The top-level scalars of an MLflow meta.yaml (what yaml.safe_dump wrote)."""
    out: dict[str, str | int | None] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MlflowSourceError(f"{path}: {exc.strerror}") from None
    for line in text.splitlines():
        match = _YAML_LINE.match(line)
        if match is None:
            continue  # nested items (tags: [] lists) and continuation lines
        key, raw = match.group(1), (match.group(2) or "").strip()
        out[key] = _yaml_scalar(raw)
    return out


def _yaml_scalar(raw: str) -> str | int | None:
    if raw in ("", "null", "~"):
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].encode().decode("unicode_escape")
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def _read_values(folder: Path) -> dict[str, str]:
    """params/ or tags/: one file a key (keys with '/' are nested folders)."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _read_metric(path: Path) -> Metric:
    """A metrics/<key> file: `<timestamp ms> <value> <step>` a line."""
    metric = Metric()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise MlflowSourceError(f"{path}:{number}: expected 'timestamp value step'")
        try:
            metric.add(int(parts[2]) if len(parts) == 3 else 0, float(parts[1]), int(parts[0]))
        except ValueError:
            raise MlflowSourceError(f"{path}:{number}: {line[:80]!r} is not numbers") from None
    return metric


def file_store_runs(root: Path) -> Iterator[MlflowRun]:
    """The runs of an `mlruns` folder, experiment by experiment."""
    experiments = [p for p in sorted(root.iterdir()) if (p / "meta.yaml").is_file()]
    if not experiments:
        raise MlflowSourceError(
            f"{root}: no experiment folders (an mlruns folder has <id>/meta.yaml)"
        )
    for exp_dir in experiments:
        exp = read_meta(exp_dir / "meta.yaml")
        if exp.get("lifecycle_stage") == "deleted":
            continue
        name = str(exp.get("name") or exp_dir.name)
        for run_dir in sorted(p for p in exp_dir.iterdir() if (p / "meta.yaml").is_file()):
            meta = read_meta(run_dir / "meta.yaml")
            if meta.get("lifecycle_stage") == "deleted":
                continue
            tags = _read_values(run_dir / "tags")
            metrics_dir = run_dir / "metrics"
            metrics = (
                {
                    p.relative_to(metrics_dir).as_posix(): _read_metric(p)
                    for p in sorted(metrics_dir.rglob("*"))
                    if p.is_file()
                }
                if metrics_dir.is_dir()
                else {}
            )
            status = meta.get("status")
            yield MlflowRun(
                run_id=str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name),
                experiment=name,
                name=str(meta.get("run_name") or tags.get("mlflow.runName") or ""),
                status=STATUS_NAMES.get(status, str(status or "FINISHED")),
                start_ms=_int_or_none(meta.get("start_time")),
                end_ms=_int_or_none(meta.get("end_time")),
                params=_read_values(run_dir / "params"),
                tags=tags,
                metrics=metrics,
            )


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# ---- the SQLite store -------------------------------------------------------------------


def sqlite_runs(path: Path) -> Iterator[MlflowRun]:
    """The runs of an MLflow SQLite database (its tables read directly, read-only)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise MlflowSourceError(f"{path}: not a SQLite database ({exc})") from None
    if not {"experiments", "runs", "params", "tags", "metrics"} <= tables:
        db.close()
        raise MlflowSourceError(f"{path}: not an MLflow database (no experiments/runs tables)")
    try:
        experiments = dict(
            db.execute(
                "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage != 'deleted'"
            )
        )
        runs = db.execute(
            "SELECT run_uuid, experiment_id, name, status, start_time, end_time FROM runs"
            " WHERE lifecycle_stage != 'deleted' ORDER BY start_time, run_uuid"
        ).fetchall()
        for run_id, exp_id, name, status, start, end in runs:
            if exp_id not in experiments:
                continue
            params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)))
            tags = dict(db.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)))
            metrics: dict[str, Metric] = {}
            for key, value, timestamp, step, is_nan in db.execute(
                "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ?"
                " ORDER BY key, timestamp, step",
                (run_id,),
            ):
                value = math.nan if is_nan else value
                metrics.setdefault(key, Metric()).add(step, value, timestamp)
            yield MlflowRun(
                run_id=run_id,
                experiment=experiments[exp_id],
                name=name or tags.get("mlflow.runName") or "",
                status=status or "FINISHED",
                start_ms=start,
                end_ms=end,
                params=params,
                tags=tags,
                metrics=metrics,
            )
    except sqlite3.Error as exc:
        raise MlflowSourceError(f"{path}: {exc}") from None
    finally:
        db.close()


# ---- a tracking server's REST API ----------------------------------------------------------


def _number(value) -> float:
    """A metric value as MLflow's JSON writes it ("NaN", "Infinity" are strings)."""
    if isinstance(value, str):
        return float(value)  # "NaN", "Infinity", "-Infinity"
    return float(value)


class _Rest:
    def __init__(self, url: str, timeout: float) -> None:
        self.base = url.rstrip("/") + "/api/2.0/mlflow"
        self.session = requests.Session()
        self.timeout = timeout

    def call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self.session.request(
                method, self.base + path, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise MlflowSourceError(f"{self.base}{path}: {exc}") from None
        if response.status_code != 200:
            raise MlflowSourceError(
                f"{self.base}{path}: HTTP {response.status_code} {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError:
            raise MlflowSourceError(f"{self.base}{path}: the answer is not JSON") from None

    def pages(self, method: str, path: str, key: str, body: dict) -> Iterator[dict]:
        token = None
        while True:
            args = {**body, **({"page_token": token} if token else {})}
            page = (
                self.call(method, path, json=args)
                if method == "POST"
                else self.call(method, path, params=args)
            )
            yield from page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return


def rest_runs(url: str, *, timeout: float = 30.0) -> Iterator[MlflowRun]:
    """The runs of a tracking server, through its REST API (2.0 paths)."""
    rest = _Rest(url, timeout)
    experiments = {
        e["experiment_id"]: e["name"]
        for e in rest.pages(
            "POST", "/experiments/search", "experiments", {"max_results": REST_PAGE}
        )
        if e.get("lifecycle_stage", "active") != "deleted"
    }
    for exp_id, exp_name in experiments.items():
        body = {
            "experiment_ids": [exp_id],
            "max_results": REST_PAGE,
            "run_view_type": "ACTIVE_ONLY",
        }
        for item in rest.pages("POST", "/runs/search", "runs", body):
            info, data = item["info"], item.get("data", {})
            run_id = info.get("run_id") or info["run_uuid"]
            tags = {t["key"]: t.get("value", "") for t in data.get("tags", [])}
            metrics = {}
            for latest in data.get("metrics", []):
                key = latest["key"]
                metric = Metric()
                history = rest.pages(
                    "GET",
                    "/metrics/get-history",
                    "metrics",
                    {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE},
                )
                for point in history:
                    metric.add(
                        int(point.get("step", 0)),
                        _number(point["value"]),
                        int(point.get("timestamp", 0)),
                    )
                metrics[key] = metric
            yield MlflowRun(
                run_id=run_id,
                experiment=exp_name,
                name=info.get("run_name") or tags.get("mlflow.runName") or "",
                status=info.get("status", "FINISHED"),
                start_ms=_int_or_none(info.get("start_time")),
                end_ms=_int_or_none(info.get("end_time")),
                params={p["key"]: p.get("value", "") for p in data.get("params", [])},
                tags=tags,
                metrics=metrics,
            )
