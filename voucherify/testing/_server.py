"""HTTP plumbing: read a request off the socket, ask the endpoints, write the reply.

HTTP/1.1 with keep-alive: every reply has an exact ``Content-Length``, and the connection
stays open unless the request could not be read in full. The server tracks its open
connections so that stopping it closes idle keep-alive ones too, instead of leaving a thread
serving them.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from voucherify.testing._endpoints import Endpoints
from voucherify.testing._replies import JSON_TYPE, Reply, error_reply
from voucherify.testing._state import RecordedRequest

MAX_BODY_BYTES = 10 * 1024 * 1024
"""The API refuses bodies over 10 MiB with 413; so does the stand-in."""

IDLE_TIMEOUT = 120.0
"""Seconds an idle keep-alive connection is kept before the server closes it."""

_MAX_LINE = 65537
_DIGITS = re.compile(r"[0-9]+")


class LocalHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one :class:`Endpoints`, one thread per connection.

    Handler threads are daemons, so a server nobody stopped never keeps the process alive;
    :meth:`close_connections` ends them when the server is stopped.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        self._handlers: dict[socket.socket, threading.Thread] = {}
        self._handlers_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self._handlers_lock:
            self._handlers[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._handlers_lock:
            self._handlers.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Shut every open connection and wait for its thread, idle keep-alive ones included.

        Call it after ``shutdown()``, once no new connection can arrive.
        """
        with self._handlers_lock:
            handlers = list(self._handlers.items())
        for connection, _ in handlers:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in handlers:
            thread.join(timeout)


class _BodyError(Exception):
    """The body could not be read; ``reply`` says why and closes the connection."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class _Handler(BaseHTTPRequestHandler):
    """Turns each request into a call of :meth:`Endpoints.handle` and records it."""

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
        body = b""
        try:
            body = self._read_body(headers)
            reply = self.server.endpoints.handle(self.command, self.path, headers, body)
        except _BodyError as exc:
            reply = exc.reply
        except Exception:
            traceback.print_exc()
            reply = error_reply(
                500, "internal_error", "Internal error", "The local stand-in failed", close=True
            )
        self.server.endpoints.state.record_request(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers=headers,
                body=body,
                status=reply.status,
            )
        )
        self._send(reply)

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

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.close:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


def _too_large() -> Reply:
    return error_reply(
        413,
        "payload_too_large",
        "Payload too large",
        f"The request body is larger than {MAX_BODY_BYTES} bytes (10 MiB)",
        close=True,
    )
