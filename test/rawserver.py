"""A socket-level server for transport failures pytest-httpserver cannot produce.

Each accepted connection reads one request head and body, then does what the test asked:
reply, close without a reply, reset, or stall. It counts the requests it read.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Callable, Optional

Behaviour = Callable[[socket.socket], None]


class RawServer:
    def __init__(self, behaviour: Behaviour, keep_alive: bool = False) -> None:
        self.behaviour = behaviour
        self.keep_alive = keep_alive
        self.requests = 0
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for thread in self._threads:
            thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    @property
    def host(self) -> str:
        return self.url

    def _handle(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        with conn:
            conn.settimeout(5)
            while True:
                try:
                    request = read_request(conn)
                except OSError:  # a keep-alive connection left idle past the timeout
                    return
                if request is None:
                    return
                with self._lock:
                    self.requests += 1
                    self.heads.append(request[0])
                    self.bodies.append(request[1])
                self.behaviour(conn)
                if not self.keep_alive:
                    return


def read_request(conn: socket.socket) -> Optional[tuple[bytes, bytes]]:
    """Read one request: ``(head, body)``, or ``None`` if the client hung up first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(1 << 20)
        if not chunk:
            return None
        body += chunk
    return head, body


def close_without_reply(conn: socket.socket) -> None:
    conn.shutdown(socket.SHUT_RDWR)


def reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def stall(seconds: float) -> Behaviour:
    """Send nothing for ``seconds``, or until the client hangs up."""

    def behaviour(conn: socket.socket) -> None:
        conn.settimeout(seconds)
        with contextlib.suppress(OSError):
            conn.recv(1)

    return behaviour


def reply(status_line: bytes, body: bytes, close: bool = True) -> Behaviour:
    """Answer with ``status_line`` and ``body``; ``close=False`` keeps the connection open."""
    connection = b"Connection: close\r\n" if close else b""

    def behaviour(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 " + status_line + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n" + connection + b"\r\n" + body
        )

    return behaviour


def trickle(head: bytes, interval: float, total_bytes: int) -> Behaviour:
    """Send ``head`` (status line and headers), then the body one byte per ``interval``."""

    def behaviour(conn: socket.socket) -> None:
        conn.sendall(head)
        for _ in range(total_bytes):
            time.sleep(interval)
            try:
                conn.sendall(b"x")
            except OSError:
                return

    return behaviour
