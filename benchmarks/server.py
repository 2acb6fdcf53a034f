"""The benchmark's own HTTP server: a fixed reply to every POST, in a process of its own.

:class:`BenchServer` binds a listening socket on 127.0.0.1 and hands it to a child running
this file, which serves HTTP/1.1 with keep-alive on it and answers

- every ``POST`` with the documented ``EventsCreateResponseBody`` example, ``200``, after
  ``latency`` seconds (each request waits on its own timer, so concurrent requests overlap);
- ``GET /__stats`` with its counters and its own CPU time, to check that it is much faster
  than the clients it serves;
- ``GET /__last`` with the head and body of the last POST, byte for byte, so that a floor
  client can send exactly what the SDK sent.

The child stops when its standard input closes (its parent is gone) or after 15 minutes. It
uses nothing but the standard library and imports nothing from this repository.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import Any, Optional

RESPONSE_DOCUMENT: dict[str, Any] = {
    "object": "event",
    "type": "cart_abandoned",
    "customer": {
        "id": "cust_ypePCF6IU6fnUvec6RMXZuH4",
        "source_id": "source_customer_event",
        "email": "john@voucherify.io",
        "object": "customer",
    },
    "referral": None,
    "loyalty": None,
}
"""The example reply of ``POST /v1/events`` (docs/EventsCreateResponseBody.md)."""


def http_reply(body: bytes, status: bytes = b"200 OK",
               content_type: bytes = b"application/json") -> bytes:
    """A complete HTTP/1.1 reply that keeps the connection open."""
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


EVENT_REPLY = http_reply(json.dumps(RESPONSE_DOCUMENT, separators=(",", ":")).encode(),
                         content_type=b"application/json; charset=utf-8")


class _Connection(asyncio.Protocol):
    """One keep-alive connection: cut requests out of the byte stream, answer each."""

    def __init__(self, server: _Counters) -> None:
        self._server = server
        self._buffer = bytearray()
        self._transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections += 1

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end])
            lowered = head.lower()
            if b"\r\ntransfer-encoding:" in lowered:  # nothing here sends chunked bodies
                self._write(http_reply(b"{}", b"501 Not Implemented"))
                self._buffer.clear()
                return
            _, found, rest = lowered.partition(b"\r\ncontent-length:")
            total = end + 4 + (int(rest.split(b"\r\n", 1)[0]) if found else 0)
            if len(self._buffer) < total:
                return
            body = bytes(self._buffer[end + 4 : total])
            del self._buffer[:total]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        server = self._server
        if head.startswith(b"POST "):
            server.requests += 1
            server.last = (head, body)
            if server.latency > 0:
                asyncio.get_running_loop().call_later(server.latency, self._write, EVENT_REPLY)
            else:
                self._write(EVENT_REPLY)
        elif head.startswith(b"GET /__stats "):
            self._write(http_reply(json.dumps(server.stats()).encode()))
        elif head.startswith(b"GET /__last "):
            last = {"head": server.last[0].decode("latin-1"),
                    "body": base64.b64encode(server.last[1]).decode("ascii")}
            self._write(http_reply(json.dumps(last).encode()))
        else:
            self._write(http_reply(b"{}", b"404 Not Found"))

    def _write(self, reply: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(reply)


class _Counters:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.requests = 0
        self.connections = 0
        self.last = (b"", b"")

    def stats(self) -> dict[str, Any]:
        return {"requests": self.requests, "connections": self.connections,
                "cpu_seconds": time.process_time()}


async def serve(listening: socket.socket, latency: float) -> None:
    """Serve on ``listening`` until standard input closes."""
    loop = asyncio.get_running_loop()
    counters = _Counters(latency)
    server = await loop.create_server(lambda: _Connection(counters), sock=listening)
    stop = asyncio.Event()

    def wait_for_eof() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    async with server:
        await stop.wait()


class BenchServer:
    """The server in a child process, as a context manager; ``url`` is
    ``http://127.0.0.1:PORT``. Clients may connect at once: the socket is listening before
    the child starts. Leaving closes the child's standard input, and kills it if it lingers."""

    def __init__(self, latency: float = 0.0) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        fd = self._socket.fileno()
        self._popen = subprocess.Popen([sys.executable, __file__, str(fd), str(latency)],
                                       stdin=subprocess.PIPE, pass_fds=(fd,))

    def get(self, path: str) -> dict[str, Any]:
        """One of the server's own routes (``/__stats``, ``/__last``) as JSON."""
        connection = http.client.HTTPConnection(self.url[len("http://") :], timeout=10.0)
        try:
            connection.request("GET", path)
            document: dict[str, Any] = json.loads(connection.getresponse().read())
            return document
        finally:
            connection.close()

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc_value: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        assert self._popen.stdin is not None
        with contextlib.suppress(OSError):
            self._popen.stdin.close()
        try:
            self._popen.wait(3.0)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()
        self._socket.close()


if __name__ == "__main__":
    signal.alarm(900)
    asyncio.run(serve(socket.socket(fileno=int(sys.argv[1])), float(sys.argv[2])))
