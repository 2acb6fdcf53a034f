"""HTTP plumbing: read a request off the socket, ask the endpoints, write the reply.

HTTP/1.1 with keep-alive: every reply has an exact ``Content-Length``, and the connection
stays open unless the request could not be read in full. The server tracks its open
connections so that stopping it closes idle keep-alive ones too, instead of leaving a thread
serving them.

Injected faults act here, since most of them are about the connection: once a request is
read, the next queued fault for its path decides whether it is processed and how the reply
goes out (see :mod:`voucherify.testing.faults`). When an admin API is attached (a server in
its own process), requests under ``/_local/`` go to it instead: never faulted, counted or
recorded.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import sys
import threading
import traceback
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping, Optional

from voucherify.exceptions import PicklableException
from voucherify.testing._endpoints import Endpoints
from voucherify.testing._fault_queue import FaultQueue
from voucherify.testing._fault_replies import fault_reply
from voucherify.testing._replies import Reply, error_reply
from voucherify.testing._state import RecordedRequest
from voucherify.testing.faults import Fault

MAX_BODY_BYTES = 10 * 1024 * 1024
"""The API refuses bodies over 10 MiB with 413; so does the stand-in."""

IDLE_TIMEOUT = 120.0
"""Seconds an idle keep-alive connection is kept before the server closes it."""

ADMIN_PREFIX = "/_local/"
"""Where the admin API of a server in its own process lives."""

AdminApi = Callable[[str, str, Mapping[str, str], bytes], Reply]
"""``(method, target, headers, body) -> Reply`` for requests under :data:`ADMIN_PREFIX`."""

_MAX_LINE = 65537
_DIGITS = re.compile(r"[0-9]+")
_LINGER_OFF_NOW = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)
"""``SO_LINGER`` on with a zero timeout: ``close()`` then sends RST instead of FIN."""


class LocalHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one :class:`Endpoints`, one thread per connection.

    Handler threads are daemons, so a server nobody stopped never keeps the process alive;
    :meth:`close_connections` ends them when the server is stopped.
    """

    daemon_threads = True
    request_queue_size = 128
    """socketserver's default backlog of 5 makes a burst of connections wait a second or more."""

    def __init__(
        self,
        address: tuple[str, int],
        endpoints: Endpoints,
        faults: Optional[FaultQueue] = None,
        admin: Optional[AdminApi] = None,
    ) -> None:
        self.endpoints = endpoints
        self.faults = faults or FaultQueue()
        self.admin = admin
        self.stopping = threading.Event()
        """Set when the server stops, so that a fault's waiting ends at once."""
        self._handlers: dict[socket.socket, threading.Thread] = {}
        self._resets: set[socket.socket] = set()
        self._handlers_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self._handlers_lock:
            self._handlers[request] = thread
        thread.start()

    def reset_on_close(self, connection: socket.socket) -> None:
        """Make closing ``connection`` send a TCP RST (for the reset faults)."""
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_OFF_NOW)
        with self._handlers_lock:
            self._resets.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._handlers_lock:
            self._handlers.pop(request, None)
            reset = request in self._resets
            self._resets.discard(request)
        if reset:
            self.close_request(request)  # no shutdown() first: that would send a FIN
        else:
            super().shutdown_request(request)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Shut every open connection and wait for its thread, idle keep-alive ones included.

        Call it after ``shutdown()``, once no new connection can arrive.
        """
        self.stopping.set()
        with self._handlers_lock:
            handlers = list(self._handlers.items())
        for connection, _ in handlers:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in handlers:
            thread.join(timeout)


class _BodyError(PicklableException, Exception):
    """The body could not be read; ``reply`` says why and closes the connection."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class _Handler(BaseHTTPRequestHandler):
    """Turns each request into a call of :meth:`Endpoints.handle` (or a fault) and records it."""

    protocol_version = "HTTP/1.1"
    server_version = "voucherify-local"
    timeout = IDLE_TIMEOUT
    server: LocalHTTPServer

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read ``LocalVoucherify.requests`` instead."""

    def _serve(self) -> None:
        headers = self._lowercase_headers()
        try:
            body = self._read_body(headers)
        except _BodyError as exc:
            self._record(headers, b"", exc.reply.status, None)
            self._send(exc.reply)
            return
        path = self.path.partition("?")[0]
        admin = self.server.admin
        if admin is not None and path.startswith(ADMIN_PREFIX):
            self._send(self._guarded(lambda: admin(self.command, self.path, headers, body)))
            return
        fault = self.server.faults.take(path)
        if fault is None:
            reply = self._process(headers, body)
            self._record(headers, body, reply.status, None)
            self._send(reply)
        elif fault.processes:
            self._process_then(fault, headers, body)
        else:
            self._answer_instead(fault, headers, body)

    def _process(self, headers: dict[str, str], body: bytes) -> Reply:
        endpoints = self.server.endpoints
        client_ip = str(self.client_address[0])
        return self._guarded(
            lambda: endpoints.handle(self.command, self.path, headers, body, client_ip)
        )

    def _guarded(self, answer: Callable[[], Reply]) -> Reply:
        """``answer()``, or a 500 if the stand-in itself fails (with the traceback on stderr)."""
        try:
            return answer()
        except Exception:
            traceback.print_exc()
            return error_reply(
                500, "internal_error", "Internal error", "The local stand-in failed", close=True
            )

    def _record(
        self, headers: dict[str, str], body: bytes, status: int, fault: Optional[Fault]
    ) -> None:
        self.server.endpoints.state.record_request(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers=headers,
                body=body,
                status=status,
                fault=None if fault is None else fault.name,
            )
        )

    # -- faults --------------------------------------------------------------------------

    def _answer_instead(self, fault: Fault, headers: dict[str, str], body: bytes) -> None:
        """A fault that does not process the request: reset, or send its own reply."""
        if fault.name == "reset":
            self._record(headers, body, 0, fault)
            self._abort()
            return
        reply = fault_reply(fault)
        self._record(headers, body, reply.status, fault)
        self._send(reply)

    def _process_then(self, fault: Fault, headers: dict[str, str], body: bytes) -> None:
        """A fault that lets the request be processed, then spoils the reply."""
        if fault.name == "delay" and self.server.stopping.wait(fault.seconds):
            self._record(headers, body, 0, fault)  # stopped while waiting: nothing processed
            self.close_connection = True
            return
        reply = self._process(headers, body)
        if fault.name == "drop_after_processing":
            self._record(headers, body, 0, fault)
            self.close_connection = True
            return
        if fault.name == "close_after_reply":
            reply = replace(reply, close=True)
        self._record(headers, body, reply.status, fault)
        if fault.name == "reset_after_head":
            head, _ = self._render(reply)
            self._write(head)
            self._abort()
        elif fault.name == "trickle":
            self._trickle(reply, fault.chunk_size, fault.interval)
        else:
            self._send(reply)

    def _trickle(self, reply: Reply, chunk_size: int, interval: float) -> None:
        head, body = self._render(reply)
        data = head + body
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(data), chunk_size):
            if start and self.server.stopping.wait(interval):
                self._abort()
                return
            if not self._write(data[start : start + chunk_size]):
                return

    def _abort(self) -> None:
        """End the connection with a TCP RST once this request is done."""
        self.close_connection = True
        self.server.reset_on_close(self.connection)

    # -- replies -------------------------------------------------------------------------

    def _send(self, reply: Reply) -> None:
        head, body = self._render(reply)
        self._write(head + body)

    def _render(self, reply: Reply) -> tuple[bytes, bytes]:
        """The status line and headers, and the body (empty for HEAD); notes ``close``."""
        phrase = self.responses.get(reply.status, ("",))[0]
        lines = [
            f"{self.protocol_version} {reply.status} {phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
        ]
        if reply.content_type is not None:
            lines.append(f"Content-Type: {reply.content_type}")
        lines.append(f"Content-Length: {len(reply.body)}")
        lines.extend(f"{name}: {value}" for name, value in reply.headers)
        if reply.close:
            lines.append("Connection: close")
            self.close_connection = True
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head, b"" if self.command == "HEAD" else reply.body

    def _write(self, data: bytes) -> bool:
        """Send ``data`` now; ``False`` (and the connection marked to close) if the peer left."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return False
        return True

    def _lowercase_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length_text = headers.get("content-length")
        if length_text is None:
            return b""
        if not _DIGITS.fullmatch(length_text.strip()):
            raise _BodyError(
                error_reply(
                    400, "bad_request", "Bad request", "Content-Length is not a number", close=True
                )
            )
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise _BodyError(_too_large())
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_text = self.rfile.readline(_MAX_LINE).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BodyError(
                    error_reply(400, "bad_request", "Bad request", "Bad chunk size", close=True)
                ) from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyError(_too_large())
            chunks.append(self.rfile.read(size))
            self.rfile.readline(_MAX_LINE)
        while self.rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)


def _too_large() -> Reply:
    return error_reply(
        413,
        "payload_too_large",
        "Payload too large",
        f"The request body is larger than {MAX_BODY_BYTES} bytes (10 MiB)",
        close=True,
    )
