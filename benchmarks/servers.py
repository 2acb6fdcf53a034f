"""The benchmark's own HTTP server: a fixed reply to every POST, in a process of its own.

Run as a script (``python benchmarks/servers.py [--latency SECONDS]``) it serves HTTP/1.1
with keep-alive on 127.0.0.1, prints ``READY http://127.0.0.1:PORT`` and answers

- every ``POST`` with the documented ``EventsCreateResponseBody`` example, ``200``, after
  ``--latency`` seconds (each request waits on its own, so concurrent requests overlap);
- ``GET /__stats`` with its counters and its own CPU time, to check that it is much faster
  than the clients it serves;
- ``GET /__last`` with the head and body of the last POST, byte for byte, so that a floor
  client can send exactly what the SDK sent.

It stops when its standard input closes (its parent is gone), on SIGTERM, or after
``--max-seconds``. It uses nothing but the standard library, and imports nothing from this
repository. :class:`ServerProcess` starts and stops it from the harness.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
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

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 3.0


def http_reply(status: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
    """A complete HTTP/1.1 reply that keeps the connection open."""
    return (
        b"HTTP/1.1 " + status.encode() + b"\r\nContent-Type: " + content_type
        + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


EVENT_REPLY = http_reply(
    "200 OK",
    json.dumps(RESPONSE_DOCUMENT, separators=(",", ":")).encode(),
    b"application/json; charset=utf-8",
)


class _Counters:
    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self.last_head = b""
        self.last_body = b""

    def stats_reply(self) -> bytes:
        document = {
            "requests": self.requests,
            "connections": self.connections,
            "cpu_seconds": time.process_time(),
            "pid": os.getpid(),
        }
        return http_reply("200 OK", json.dumps(document).encode())

    def last_reply(self) -> bytes:
        document = {
            "head": self.last_head.decode("latin-1"),
            "body": base64.b64encode(self.last_body).decode("ascii"),
        }
        return http_reply("200 OK", json.dumps(document).encode())


def _content_length(head: bytes) -> Optional[int]:
    """The request's Content-Length (0 when absent), or None for a chunked request."""
    lowered = head.lower()
    if b"\r\ntransfer-encoding:" in lowered:
        return None
    start = lowered.find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += len(b"\r\ncontent-length:")
    end = lowered.find(b"\r\n", start)
    return int(lowered[start : end if end >= 0 else len(lowered)].strip())


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse requests out of the byte stream, answer each."""

    def __init__(self, counters: _Counters, latency: float) -> None:
        self._counters = counters
        self._latency = latency
        self._buffer = bytearray()
        self._transport: Optional[asyncio.Transport] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._counters.connections += 1

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            length = _content_length(head)
            if length is None:
                self._write(http_reply("501 Not Implemented", b"{}"))
                self._close()
                return
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            body = bytes(self._buffer[end + 4 : total])
            del self._buffer[:total]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        counters = self._counters
        if head.startswith(b"POST "):
            counters.requests += 1
            counters.last_head = head
            counters.last_body = body
            if self._latency > 0:
                asyncio.get_running_loop().call_later(self._latency, self._write, EVENT_REPLY)
            else:
                self._write(EVENT_REPLY)
        elif head.startswith(b"GET /__stats "):
            self._write(counters.stats_reply())
        elif head.startswith(b"GET /__last "):
            self._write(counters.last_reply())
        else:
            self._write(http_reply("404 Not Found", b"{}"))

    def _write(self, reply: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(reply)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve(host: str, port: int, latency: float) -> None:
    """Serve until standard input closes or SIGTERM comes."""
    loop = asyncio.get_running_loop()
    counters = _Counters()
    server = await loop.create_server(
        lambda: _Connection(counters, latency), host, port, backlog=1024
    )
    bound = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)

    def wait_for_eof() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    sys.stdout.write(f"READY http://{host}:{bound}\n")
    sys.stdout.flush()
    async with server:
        await stop.wait()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--max-seconds", type=int, default=900, help="exit after this long")
    args = parser.parse_args(argv)
    signal.alarm(args.max_seconds)
    asyncio.run(serve(args.host, args.port, args.latency))
    return 0


class ServerProcess:
    """This module's server in a child process, as a context manager.

    ``url`` is ``http://127.0.0.1:PORT``. :meth:`stop` closes the child's standard input,
    then terminates and kills it if it lingers, so no server outlives the harness.
    """

    def __init__(self, latency: float = 0.0, max_seconds: int = 900) -> None:
        self.latency = latency
        self._max_seconds = max_seconds
        self._popen: Optional[subprocess.Popen[bytes]] = None
        # The server's error output, kept for the message if it fails to start. A file, not
        # a pipe: a pipe nobody reads could fill up and block the server.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.url = ""

    def start(self) -> ServerProcess:
        argv = [sys.executable, str(Path(__file__).resolve()), "--latency", str(self.latency),
                "--max-seconds", str(self._max_seconds)]
        self._popen = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
        )
        line = _read_line(self._popen, STARTUP_TIMEOUT)
        if not line.startswith("READY "):
            self.stop()
            self._stderr.seek(0)
            error = self._stderr.read().decode(errors="replace")
            raise RuntimeError(f"benchmark server did not start: {line!r} {error}")
        self.url = line.split(" ", 1)[1].strip()
        return self

    @property
    def pid(self) -> int:
        assert self._popen is not None
        return self._popen.pid

    def get(self, path: str) -> dict[str, Any]:
        """GET one of the server's own routes (``/__stats``, ``/__last``) as JSON."""
        return get_json(self.url, path)

    def stop(self) -> None:
        popen = self._popen
        if popen is None:
            return
        self._popen = None
        if popen.stdin is not None:
            with contextlib.suppress(OSError):
                popen.stdin.close()
        try:
            popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            popen.terminate()
            try:
                popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        if popen.stdout is not None:
            popen.stdout.close()
        self._stderr.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()


def get_json(base_url: str, path: str, timeout: float = 10.0) -> dict[str, Any]:
    host, _, port = base_url[len("http://") :].rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        document: dict[str, Any] = json.loads(connection.getresponse().read())
        return document
    finally:
        connection.close()


def _read_line(popen: subprocess.Popen[bytes], timeout: float) -> str:
    """The child's first line of output, or "" if none comes within ``timeout`` seconds."""
    assert popen.stdout is not None
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(popen.stdout, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                break
            chunk = os.read(popen.stdout.fileno(), 4096)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


if __name__ == "__main__":
    sys.exit(main())
