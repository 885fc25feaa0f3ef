"""What a run records besides metrics: tags, properties, description, files and logs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runs.sdk.logs import LogAppender, upload_log
from runs.sdk.names import check_name
from runs.sdk.run_base import RunBase


class RecordsPart(RunBase):
    """tag, set_tags, remove_tags, add_properties, description, display_name, files, logs."""

    def tag(self, key: str, value: Any = None) -> None:
        """Set a tag; without a value, a key-only tag."""
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set several tags at once (a None value: a key-only tag)."""
        for key in tags:
            check_name("tag", key)
        self._tags_patch({"set": dict(tags)})

    def remove_tags(self, keys: Iterable[str]) -> None:
        keys = [keys] if isinstance(keys, str) else list(keys)
        self._tags_patch({"remove": keys})

    def _tags_patch(self, body: dict) -> dict:
        tags = self._client.json("PATCH", self._path("/tags"), json_body=body)["tags"]
        if self._doc is not None:
            self._doc["tags"] = tags
        return tags

    def get_tags(self) -> dict[str, str | None]:
        return self.get_details(log_files=False)["tags"]

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add immutable properties; a key that exists with another value raises ConflictError."""
        for key in properties:
            check_name("property", key)
        body = {"properties": dict(properties)}
        result = self._client.json("POST", self._path("/properties"), json_body=body)
        if self._doc is not None:
            self._doc["properties"] = result["properties"]

    def get_properties(self) -> dict[str, str]:
        return self.get_details(log_files=False)["properties"]

    @property
    def description(self) -> str:
        """The markdown description (as last read or written by this object)."""
        return self._document().get("description") or ""

    @description.setter
    def description(self, text: str) -> None:
        self._update({"description": text})

    @property
    def display_name(self) -> str:
        return self._document().get("displayName") or ""

    @display_name.setter
    def display_name(self, name: str) -> None:
        self._update({"displayName": name})

    def _update(self, body: dict) -> None:
        self._remember(self._client.json("PATCH", self._path(), json_body=body))

    def upload_file(self, name: str, path: str | os.PathLike, *, kind: str = "output") -> dict:
        """Store the local file `path` as the run's file `name` (a relative path); `kind` is
        "output" or "log". A file of the same name is replaced."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no file at {path}")

        def attempt() -> Any:
            with open(path, "rb") as fh:
                return self._client.send(
                    "POST",
                    self._path("/files"),
                    files={"file": (path.name, fh)},
                    data={"name": name, "kind": kind},
                    timeout=max(self._client.timeout, 600),
                )

        return self._client.retrying(attempt).json()

    def get_file_names(self) -> list[str]:
        return [f["name"] for f in self._client.json("GET", self._path("/files"))["files"]]

    def download_file(self, name: str, output_path: str | os.PathLike) -> Path:
        """Save the run's file `name` at `output_path` (into it, when it is a directory)."""
        target = Path(output_path)
        if target.is_dir() or str(output_path).endswith(("/", os.sep)):
            target = target / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        response = self._client.request(
            "GET", self._path("/files/content"), params={"name": name}, stream=True
        )
        partial = target.with_name(target.name + ".part")
        with response, open(partial, "wb") as fh:
            shutil.copyfileobj(response.raw, fh)
        partial.replace(target)
        return target

    def upload_log(self, name: str, path: str | os.PathLike) -> int:
        """Send the local file `path` as the run's log `name` (a relative path), from where
        the studio's copy ends: uploading a growing log again sends only its new bytes.
        Returns the log's size in the studio."""
        return upload_log(self._client, self._path(), name, path)

    def log_stream(self, name: str) -> LogAppender:
        """A writer appending to the run's log `name` as you go (`.write(text)`), which the
        studio's live tail shows at once; each write is safe to retry."""
        return LogAppender(self._client, self._path(), name)
