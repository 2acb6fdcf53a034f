"""Socket-level servers for transport failures pytest-httpserver cannot produce.

:class:`RawServer`: each accepted connection reads one request head and body, then does
what the test asked: reply, close without a reply, reset, or stall. It counts the requests
it read.

:class:`FaultProxy` is a real HTTP proxy for both ways a client uses one: it answers
``CONNECT`` (then, holding a certificate for the names the tests use, ends the tunnel's TLS
itself and reads the request inside it) and absolute-form requests (``POST http://host/...``).
It forwards each request to one backend, whatever host the URL names, so a test can aim the
SDK at a name that is not loopback (and so goes through the proxy) and still reach a local
server. Its mode says where it misbehaves: refusing or dropping the tunnel, failing the TLS
handshake, or dropping the connection after the backend has processed the request.

:class:`FaultyTLSServer` fails the TLS handshake the same ways, without a proxy.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
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


HANDSHAKE_FAULTS = ("tls-eof", "tls-reset", "tls-garbage", "tls-stall", "tls-plain-http")
"""Ways to fail a TLS handshake: close, reset, answer garbage, say nothing, answer in HTTP."""

PROXY_FAULTS = (
    "refuse-407",
    "refuse-502",
    "close-on-connect",
    "reset-on-connect",
    "stall-on-connect",
    *HANDSHAKE_FAULTS,
    "close-after-forward",
    "reset-after-forward",
    "stall-after-forward",
)
"""Every mode of :class:`FaultProxy` but ``"forward"``; those before ``close-after-forward``
happen before the request is sent, the last three after the backend has processed it."""

def fail_handshake(conn: socket.socket, fault: str, stall: float = 5.0) -> None:
    """Fail the TLS handshake the client is starting on ``conn`` in the way ``fault`` names."""
    if fault == "tls-stall":
        conn.settimeout(stall)
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass
        return
    with contextlib.suppress(OSError):
        conn.settimeout(2)
        conn.recv(65536)  # the ClientHello
        if fault == "tls-reset":
            reset(conn)
        elif fault == "tls-garbage":
            conn.sendall(b"\x17\x00\x00garbage, not a TLS record at all" * 4)
        elif fault == "tls-plain-http":
            conn.sendall(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 11\r\nConnection: close\r\n\r\nplain HTTP\n"
            )


class _Listener:
    """Accepts connections on 127.0.0.1 and handles each on its own thread."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
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
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._guarded, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _guarded(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError, ssl.SSLError):
            conn.settimeout(5)
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class FaultyTLSServer(_Listener):
    """A port that is meant to speak TLS but fails every handshake as ``fault`` says."""

    def __init__(self, fault: str) -> None:
        super().__init__()
        assert fault in HANDSHAKE_FAULTS, fault
        self.fault = fault
        self.url = f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultyTLSServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, conn: socket.socket) -> None:
        fail_handshake(conn, self.fault)


class FaultProxy(_Listener):
    """An HTTP proxy that forwards every request to ``backend`` and misbehaves as ``mode`` says.

    ``tls`` is the server context it ends a ``CONNECT`` tunnel's TLS with (a certificate for
    the names the tests use). ``connect_heads`` and ``forward_heads`` record what the client
    sent it: the tunnel requests, and the requests it was asked to forward (read inside the
    tunnel or in absolute form).
    """

    def __init__(
        self,
        backend: tuple[str, int],
        tls: Optional[ssl.SSLContext] = None,
        mode: str = "forward",
    ) -> None:
        super().__init__()
        self.backend = backend
        self.tls = tls
        self.mode = mode
        self.url = f"http://127.0.0.1:{self.port}"
        self.connect_heads: list[bytes] = []
        self.forward_heads: list[bytes] = []

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, conn: socket.socket) -> None:
        request = read_request(conn)
        if request is None:
            return
        head, body = request
        if head.startswith(b"CONNECT "):
            self._tunnel(conn, head)
        else:
            self._forward(conn, head, body)

    def _tunnel(self, conn: socket.socket, head: bytes) -> None:
        with self._lock:
            self.connect_heads.append(head)
        mode = self.mode
        if mode.startswith("refuse-"):
            status = {"refuse-407": b"407 Proxy Authentication Required",
                      "refuse-502": b"502 Bad Gateway"}[mode]
            conn.sendall(b"HTTP/1.1 " + status + b"\r\nProxy-Authenticate: Basic realm=\"t\"\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if mode == "close-on-connect":
            return
        if mode == "reset-on-connect":
            reset(conn)
            return
        if mode == "stall-on-connect":
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                conn.recv(1)
            return
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if mode in HANDSHAKE_FAULTS:
            fail_handshake(conn, mode)
            return
        assert self.tls is not None, "a tunnel needs a TLS context"
        with self.tls.wrap_socket(conn, server_side=True) as inner:
            while True:
                request = read_request(inner)
                if request is None:
                    return
                if not self._forward(inner, *request):
                    return

    def _forward(self, conn: socket.socket, head: bytes, body: bytes) -> bool:
        """Send one request to the backend and answer as the mode says; whether to go on."""
        with self._lock:
            self.forward_heads.append(head)
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.split(b" ", 2)
        if target.startswith((b"http://", b"https://")):
            target = b"/" + target.split(b"/", 3)[3] if target.count(b"/") >= 3 else b"/"
        headers = [
            h for h in rest.split(b"\r\n")
            if h and not h.lower().startswith((b"connection:", b"proxy-"))
        ]
        upstream_head = b"\r\n".join(
            [b" ".join([method, target, version]), *headers, b"Connection: close"]
        )
        with socket.create_connection(self.backend, timeout=10) as upstream:
            upstream.sendall(upstream_head + b"\r\n\r\n" + body)
            reply = b""
            while True:
                chunk = upstream.recv(65536)
                if not chunk:
                    break
                reply += chunk
        if self.mode == "close-after-forward":
            return False
        if self.mode == "reset-after-forward":
            reset(conn)
            return False
        if self.mode == "stall-after-forward":
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                conn.recv(1)
            return False
        conn.sendall(reply)
        return False  # the backend closed; so does the proxy, after the whole reply
