"""A call's deadline, enforced on every read from the socket.

urllib3's read timeout bounds each wait for bytes, so a server that sends a byte now and then
can hold a call for ever, in the status line, the headers or the body. The connection
classes here read the whole reply through a reader that checks the deadline before each
receive and never waits past it; the deadline travels in a context variable, set around one
request by the transport.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from contextvars import ContextVar
from typing import Any, Optional

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

current_deadline: ContextVar[Optional[float]] = ContextVar("voucherify_deadline", default=None)
"""The ``time.monotonic()`` by which the reply must be read; ``None`` for no deadline."""


class _DeadlineReader(io.RawIOBase):
    """Reads from the socket, cutting each wait to the time left before the deadline."""

    def __init__(self, raw: Any, sock: socket.socket, deadline_at: float) -> None:
        self._raw = raw
        self._sock = sock
        self._deadline_at = deadline_at

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Optional[int]:
        remaining = self._deadline_at - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("the call's deadline passed")
        timeout = self._sock.gettimeout()
        if timeout is None or remaining < timeout:
            self._sock.settimeout(remaining)
        result: Optional[int] = self._raw.readinto(buffer)
        return result

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` is given instead of the socket: its one use of it,
    ``makefile("rb")``, gets a buffered reader over :class:`_DeadlineReader`."""

    def __init__(self, sock: socket.socket, deadline_at: float) -> None:
        self._sock = sock
        self._deadline_at = deadline_at

    def makefile(self, mode: str) -> io.BufferedReader:
        # An unbuffered makefile() keeps the socket open while the reply is read, as
        # http.client's own buffered one does; only the reads are wrapped.
        raw = self._sock.makefile("rb", buffering=0)
        return io.BufferedReader(_DeadlineReader(raw, self._sock, self._deadline_at))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(
        self,
        sock: socket.socket,
        debuglevel: int = 0,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> None:
        deadline_at = current_deadline.get()
        if deadline_at is not None:
            sock = _DeadlineSocket(sock, deadline_at)  # type: ignore[assignment]
        super().__init__(sock, debuglevel, method, url)


class _HTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {
    "http": _HTTPConnectionPool,
    "https": _HTTPSConnectionPool,
}
"""``pool_classes_by_scheme`` for a PoolManager whose replies honour ``current_deadline``."""
