"""Run logs through the API: appended by byte offset (idempotent), read from an offset.

`POST /w/<ws>/runs/<id>/logs?name=&offset=` appends the body at `offset`: bytes the
studio has already (a retry after a lost answer) are skipped, so sending the same
piece twice stores it once; an offset past the end is a 409. Reading is
`GET .../files/content?name=&offset=`, what the studio's live tail does too.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from runs.sdk.errors import ConflictError, NotFoundError
from runs.sdk.http import Client

# Where a submitted script's stdout and stderr go (the name Azure ML users know).
STD_LOG = "user_logs/std_log.txt"
# The largest piece one append request carries.
PIECE = 4 * 1024 * 1024


class LogAppender:
    """Appends to one log of a run, keeping its offset; safe to retry, never duplicated."""

    def __init__(self, client: Client, run_path: str, name: str, offset: int = 0):
        self.client = client
        self.path = run_path + "/logs"
        self.name = name
        self.offset = offset

    def write(self, data: bytes | str) -> int:
        """Append `data`; returns the log's size after it."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        for start in range(0, len(data), PIECE) or [0]:
            piece = data[start : start + PIECE]
            if not piece and data:
                break
            self.offset = self._send(self.offset, piece)
        return self.offset

    def _send(self, offset: int, piece: bytes) -> int:
        params = {"name": self.name, "offset": str(offset)}
        try:
            answer = self.client.json(
                "POST",
                self.path,
                params=params,
                data=piece,
                headers={"Content-Type": "application/octet-stream"},
            )
        except ConflictError:
            # The log is shorter than we thought (replaced, or written by someone else):
            # go on from its end.
            size = log_size(self.client, self.path[: -len("/logs")], self.name)
            answer = self.client.json(
                "POST",
                self.path,
                params={"name": self.name, "offset": str(size)},
                data=piece,
                headers={"Content-Type": "application/octet-stream"},
            )
        return int(answer["size"])


def log_size(client: Client, run_path: str, name: str) -> int:
    """The size of the run's file `name` now (0 when it does not exist yet)."""
    for f in client.json("GET", run_path + "/files")["files"]:
        if f["name"] == name:
            return int(f["size"])
    return 0


def upload_log(client: Client, run_path: str, name: str, source: str | os.PathLike) -> int:
    """Send the local file `source` as the run's log `name`, from where the studio's copy
    ends (a log uploaded again sends only what it gained). Returns the log's size."""
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"no file at {source}")
    appender = LogAppender(client, run_path, name)
    with open(source, "rb") as fh:
        offset = 0
        while True:
            piece = fh.read(PIECE)
            if not piece:
                break
            appender.offset = offset
            appender.write(piece)
            offset += len(piece)
    return appender.offset


class LogTail:
    """Reads a run's log as it grows: each `read()` returns the text written since the last."""

    def __init__(self, client: Client, run_path: str, name: str = STD_LOG):
        self.client = client
        self.path = run_path + "/files/content"
        self.name = name
        self.offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def read(self) -> str:
        try:
            response = self.client.request(
                "GET", self.path, params={"name": self.name, "offset": str(self.offset)}
            )
        except NotFoundError:
            return ""  # not written yet
        data = response.content
        size = int(response.headers.get("X-File-Size", self.offset + len(data)))
        if size < self.offset:
            self.offset = 0  # replaced by a shorter log: from its start
            return ""
        self.offset += len(data)
        return self._decoder.decode(data)
