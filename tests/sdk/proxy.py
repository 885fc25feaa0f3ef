"""A TCP proxy for tests, between the SDK and a live server, that can fail on demand.

- `down()`: stop listening and cut every connection (the studio is away: refused);
  `up()`: listen again on the same port.
- `drop(n)`: the next n connections are accepted and closed at once.
- `lose(n, path)`: the next n answers to requests whose path contains `path` are
  swallowed and the connection closed: the server did the work, the client
  never hears of it.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Proxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self.dropping = 0
        self.losing = 0
        self.lose_path = ""
        self.lost = 0
        self.listener: socket.socket | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self.lock:
            listener, self.listener = self.listener, None
            connections, self.connections = self.connections, set()
        if listener is not None:
            listener.close()
        for conn in connections:
            _close(conn)

    def drop(self, n: int) -> None:
        with self.lock:
            self.dropping = n

    def lose(self, n: int, path: str) -> None:
        with self.lock:
            self.losing, self.lose_path = n, path

    def close(self) -> None:
        self.down()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                if self.dropping > 0:
                    self.dropping -= 1
                    _close(client)
                    continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.connections.update((client, upstream))
            state = {"path": ""}
            threading.Thread(
                target=self._pipe, args=(client, upstream, state, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, state, False), daemon=True
            ).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, state: dict, request: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if request:
                    line = data.split(b"\r\n", 1)[0].split(b" ")
                    if len(line) == 3 and line[2].startswith(b"HTTP/"):
                        state["path"] = line[1].decode("latin-1")
                else:
                    with self.lock:
                        lose = self.losing > 0 and self.lose_path in state["path"]
                        if lose:
                            self.losing -= 1
                            self.lost += 1
                    if lose:
                        break
                dst.sendall(data)
        except OSError:
            pass
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
