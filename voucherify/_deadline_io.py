"""The urllib3 connections the sync transport uses: a deadline on every read, how far each
attempt got, interim replies skipped, and no connection reused unless its reply ended cleanly.

urllib3's read timeout bounds each wait for bytes, so a server that sends a byte now and then
can hold a call for ever, in the status line, the headers or the body. The connection
classes here read the whole reply through a reader that checks the deadline before each
receive and never waits past it; the deadline travels in a context variable, set around one
request by the transport. They also move the attempt's
:class:`~voucherify._pipeline.failures.Progress` on (connecting, tunnelling, TLS, sending),
which is what decides whether a failure may have reached the server.

A connection goes back to the pool only when the SDK knows where the next reply on it will
start: its last reply was read to the end its framing announced, with nothing after it.
Otherwise (a body left unread, bytes beyond ``Content-Length``, a 1xx it cannot place) it is
closed, so that no call can ever read another call's reply.
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

from voucherify._pipeline.failures import Phase, current_progress, reach, unrequested_reply
from voucherify.exceptions import PicklableException

current_deadline: ContextVar[Optional[float]] = ContextVar("voucherify_deadline", default=None)
"""The ``time.monotonic()`` by which the reply must be read; ``None`` for no deadline."""


_MAX_INTERIM_REPLIES = 20
_MAX_LINE = 65536
_MAX_HEADERS = 100


class UnplaceableReply(PicklableException, http.client.HTTPException):
    """The server sent something before the final reply that the SDK cannot place: a
    ``101`` it never asked for, or interim replies without end. Its text is the SDK's own."""


class _DeadlineReader(io.RawIOBase):
    """Reads from the socket, cutting each wait to the time left before the deadline."""

    def __init__(self, raw: Any, sock: socket.socket, deadline_at: Optional[float]) -> None:
        self._raw = raw
        self._sock = sock
        self._deadline_at = deadline_at
        self.exhausted = False
        """Set to make every further read report the end: for looking into the buffer only."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Optional[int]:
        if self.exhausted:
            return 0
        if self._deadline_at is not None:
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


class _ReplyReader(io.BufferedReader):
    """The buffered reader a reply is parsed from. It can tell whether bytes wait unread, and
    sees a chunked body's last chunk and trailer go by (chunk-size and trailer lines are the
    only lines read from a chunked body, by http.client and urllib3 alike)."""

    raw: _DeadlineReader
    watching_chunks = False
    last_chunk_seen = False
    chunks_ended = False

    def readline(self, size: Optional[int] = -1) -> bytes:
        line = super().readline(-1 if size is None else size)
        if self.watching_chunks and not self.chunks_ended:
            if self.last_chunk_seen:
                self.chunks_ended = line in (b"\r\n", b"\n")
            else:
                self.last_chunk_seen = line.split(b";", 1)[0].strip() == b"0"
        return line

    def holds_more(self) -> bool:
        """Whether bytes the server sent are buffered beyond what was read (never waits)."""
        self.raw.exhausted = True
        return bool(self.peek(1))


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` is given instead of the socket: its one use of it,
    ``makefile("rb")``, gets a :class:`_ReplyReader` over :class:`_DeadlineReader`."""

    def __init__(self, sock: socket.socket, deadline_at: Optional[float]) -> None:
        self._sock = sock
        self._deadline_at = deadline_at

    def makefile(self, mode: str) -> io.BufferedReader:
        # An unbuffered makefile() keeps the socket open while the reply is read, as
        # http.client's own buffered one does; only the reads are wrapped.
        raw = self._sock.makefile("rb", buffering=0)
        return _ReplyReader(_DeadlineReader(raw, self._sock, self._deadline_at))


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's reply, read within the deadline, skipping interim (1xx) replies, and
    noting whether it was read to the end its framing said (``complete``) and no further bytes
    followed (``overran`` when some did)."""

    def __init__(
        self,
        sock: socket.socket,
        debuglevel: int = 0,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> None:
        wrapped = _DeadlineSocket(sock, current_deadline.get())
        super().__init__(wrapped, debuglevel, method, url)  # type: ignore[arg-type]
        self.overran = False
        self.complete = False

    def begin(self) -> None:
        super().begin()
        if self.chunked and isinstance(self.fp, _ReplyReader):
            self.fp.watching_chunks = True

    def _read_status(self) -> tuple[str, int, str]:
        # http.client skips "100 Continue" only; 102, 103 and the like would otherwise be
        # taken for the reply, and the real one left on the connection for the next call.
        for _ in range(_MAX_INTERIM_REPLIES):
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if status == 101 or not 100 <= status <= 199:
                break
            self._skip_headers()
        else:
            raise UnplaceableReply(f"more than {_MAX_INTERIM_REPLIES} interim replies")
        if status == 101:
            raise UnplaceableReply(unrequested_reply(status))
        return version, status, reason

    def _skip_headers(self) -> None:
        for _ in range(_MAX_HEADERS + 1):
            line = self.fp.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            if line in (b"\r\n", b"\n", b""):
                return
        raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")

    def _close_conn(self) -> None:
        fp = self.fp
        if isinstance(fp, _ReplyReader):
            self.complete = fp.chunks_ended if self.chunked else self.length == 0
            self.overran = fp.holds_more()
        super()._close_conn()  # type: ignore[misc]


def _ended_cleanly(conn: HTTPConnection) -> bool:
    """Whether the next reply on ``conn`` will start right where its last one ended."""
    reply = getattr(conn, "last_reply", None)
    if reply is None or conn.is_closed:
        return True
    raw = reply._original_response
    return (
        isinstance(raw, _DeadlineResponse) and raw.isclosed() and raw.complete
        and not raw.overran
    )


class _Tracked:
    """What both connection classes add: the attempt's progress, and their last reply."""

    sock: Any
    last_reply: Any = None

    def _new_conn(self) -> socket.socket:
        reach(Phase.CONNECT)
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        return sock

    def _tunnel(self) -> None:
        reach(Phase.PROXY)
        super()._tunnel()  # type: ignore[misc]
        reach(Phase.TLS)

    def send(self, data: Any) -> None:
        if self.sock is None:
            self.connect()  # type: ignore[attr-defined]
        progress = current_progress.get()
        if progress is not None and progress.phase is not Phase.PROXY:
            progress.reach(Phase.SENT)  # the first byte of the request goes out now
        super().send(data)  # type: ignore[misc]

    def getresponse(self) -> Any:
        self.last_reply = None
        reply = super().getresponse()  # type: ignore[misc]
        self.last_reply = reply
        return reply

    def close(self) -> None:
        self.last_reply = None
        super().close()  # type: ignore[misc]


class _HTTPConnection(_Tracked, HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(_Tracked, HTTPSConnection):
    response_class = _DeadlineResponse

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        reach(Phase.TLS)  # a tunnel, if any, comes first and says so itself
        return sock


class _Pool:
    """What both pool classes add: a connection whose reply did not end cleanly is closed
    rather than kept for the next call."""

    def _put_conn(self, conn: Any) -> None:
        if conn is not None and not _ended_cleanly(conn):
            conn.close()
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPConnectionPool(_Pool, HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(_Pool, HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {
    "http": _HTTPConnectionPool,
    "https": _HTTPSConnectionPool,
}
"""``pool_classes_by_scheme`` for a PoolManager whose replies honour ``current_deadline``."""
