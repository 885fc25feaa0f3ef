"""A run file's bytes as one readable, seekable file: its first object, then the
parts appended after it (RunFilePart), wherever the storage keeps them."""

from __future__ import annotations

import io

from runs.models import RunFile

BUFFER = 256 * 1024


class JoinedFile(io.RawIOBase):
    """Consecutive stored objects read as one file: [(start, size, name), ...]."""

    def __init__(self, storage, pieces: list[tuple[int, int, str]]) -> None:
        super().__init__()
        self.storage = storage
        self.pieces = pieces
        self.size = sum(size for _, size, _ in pieces)
        self.pos = 0
        self._open: tuple[int, object] | None = None  # (piece index, handle)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        if self.pos >= self.size:
            return 0
        index = next(i for i, (start, size, _) in enumerate(self.pieces) if self.pos < start + size)
        start, size, name = self.pieces[index]
        if self._open is None or self._open[0] != index:
            self._close_piece()
            self._open = (index, self.storage.open(name, "rb"))
        handle = self._open[1]
        handle.seek(self.pos - start)
        data = handle.read(min(len(buffer), start + size - self.pos))
        if not data:
            raise OSError(f"{name} is shorter than recorded")
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)

    def _close_piece(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None

    def close(self) -> None:
        self._close_piece()
        super().close()


def open_run_file(run_file: RunFile):
    """The file's content from its first byte, readable and seekable (binary).

    One query for its parts; a file never appended to is its storage object as is.
    """
    storage = run_file.file.storage
    parts = list(run_file.parts.order_by("start").values_list("start", "size", "name"))
    if not parts:
        return storage.open(run_file.file.name, "rb")
    pieces = [(0, parts[0][0], run_file.file.name), *parts]
    return io.BufferedReader(JoinedFile(storage, pieces), BUFFER)
