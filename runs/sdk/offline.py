"""OfflineRun: what `Run.get_context()` gives outside a submitted script."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from runs.sdk.names import check_name, metric_value


class OfflineRun:
    """What `Run.get_context()` gives outside a submitted script: nothing is sent anywhere;
    each call prints one line (`[offline run] ...`) to stdout and values are kept in memory,
    so `get_metrics()`, `get_tags()` and the like still answer."""

    id = "OfflineRun"
    experiment = None
    parent = None

    def __init__(self, stream: Any = None) -> None:
        self._stream = stream
        self._metrics: dict[str, list[float | str | bool]] = {}
        self._tags: dict[str, str | None] = {}
        self._properties: dict[str, str] = {}
        self._status = "Running"
        self.description = ""
        self.display_name = ""

    def _say(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(f"[offline run] {text}\n")
        stream.flush()

    def __repr__(self) -> str:
        return "OfflineRun()"

    def __enter__(self) -> OfflineRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.complete()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.cancel()
        else:
            self.fail(error_details=exc, error_code=exc_type.__name__)
        return False

    def log(self, name: str, value: float | str | bool, step: int | None = None) -> None:
        check_name("metric", name)
        value = metric_value(value)
        self._metrics.setdefault(name, []).append(value)
        at = f" (step {step})" if step is not None else ""
        self._say(f"log {name} = {value!r}{at}")

    def log_list(self, name: str, values: Iterable[float]) -> None:
        for value in values:
            self.log(name, value)

    def log_row(self, name: str, **values: float) -> None:
        for key, value in values.items():
            self.log(f"{name}/{key}" if name else key, value)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        return {
            k: v[0] if len(v) == 1 else list(v)
            for k, v in self._metrics.items()
            if name is None or k == name
        }

    def get_status(self) -> str:
        return self._status

    def get_details(self) -> dict:
        return {
            "runId": self.id,
            "status": self._status,
            "displayName": self.display_name,
            "description": self.description,
            "tags": dict(self._tags),
            "properties": dict(self._properties),
        }

    def complete(self) -> None:
        self._status = "Completed"
        self._say("complete")

    def fail(self, error_details: Any = None, error_code: str | None = None) -> None:
        self._status = "Failed"
        self._say(f"fail {error_code or 'UserError'}: {error_details}")

    def cancel(self) -> None:
        self._status = "Canceled"
        self._say("cancel")

    def on_cancel(self, callback: Callable[..., None] | None) -> None:
        return None

    def tag(self, key: str, value: Any = None) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            check_name("tag", key)
            self._tags[key] = None if value is None else str(value)
            self._say(f"tag {key}" + ("" if value is None else f" = {value!r}"))

    def remove_tags(self, keys: Iterable[str]) -> None:
        for key in [keys] if isinstance(keys, str) else keys:
            self._tags.pop(key, None)
            self._say(f"remove tag {key}")

    def get_tags(self) -> dict[str, str | None]:
        return dict(self._tags)

    def add_properties(self, properties: dict[str, Any]) -> None:
        for key, value in properties.items():
            check_name("property", key)
            self._properties[key] = str(value)
            self._say(f"property {key} = {value!r}")

    def get_properties(self) -> dict[str, str]:
        return dict(self._properties)

    def upload_file(self, name: str, path: str | os.PathLike, **kwargs: Any) -> None:
        self._say(f"upload {path} as {name}")

    def get_file_names(self) -> list[str]:
        return []

    def child_run(self, name: str | None = None) -> OfflineRun:
        self._say(f"child run {name or ''}".rstrip())
        return OfflineRun(self._stream)

    def create_children(
        self, count: int | None = None, tag_key: str | None = None, tag_values: Any = None
    ) -> list[OfflineRun]:
        n = len(tag_values) if tag_values is not None else (count or 1)
        self._say(f"create {n} children")
        return [OfflineRun(self._stream) for _ in range(n)]

    def get_children(self, *args: Any, **kwargs: Any) -> list[OfflineRun]:
        return []

    def submit_child(self, config: Any, **kwargs: Any) -> OfflineRun:
        self._say(f"submit child {getattr(config, 'script', config)}")
        return OfflineRun(self._stream)

    def wait_for_completion(self, show_output: bool = False, **kwargs: Any) -> dict:
        return self.get_details()
