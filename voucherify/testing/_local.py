"""``LocalVoucherify``: the stand-in's public face, starting and stopping a server thread."""

from __future__ import annotations

import secrets
import threading
from types import TracebackType
from typing import Any, Iterable, Optional

from voucherify.testing._endpoints import Endpoints, Settings, normalize_origin
from voucherify.testing._server import LocalHTTPServer
from voucherify.testing._state import RecordedEvent, RecordedRequest, State

_POLL_SECONDS = 0.05
"""How often the serving loop checks for a stop request; bounds how long ``stop`` takes."""


class LocalVoucherify:
    """A local HTTP server that answers the Events API as the strict contract describes.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with LocalVoucherify() as server:
            configuration = voucherify.Configuration(host=server.url)
            configuration.api_key["X-App-Id"] = server.app_id
            configuration.api_key["X-App-Token"] = server.app_token
            ...
            assert server.events[0]["event"] == "signed_up"

    Keys not given are random. ``allowed_origins`` limits the ``origin`` header of
    client-side calls (compared without case); ``None`` allows any origin, though the header
    stays required. Customers and records live as long as the object, across restarts,
    until :meth:`reset`. Safe to use from several threads.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_id: Optional[str] = None,
        app_token: Optional[str] = None,
        client_app_id: Optional[str] = None,
        client_token: Optional[str] = None,
        allowed_origins: Optional[Iterable[str]] = None,
    ) -> None:
        if isinstance(allowed_origins, str):
            raise TypeError("allowed_origins must be an iterable of origins, not one string")
        self.host = host
        self._requested_port = port
        self.app_id = _key(app_id, "app_id")
        self.app_token = _key(app_token, "app_token")
        self.client_app_id = _key(client_app_id, "client_app_id")
        self.client_token = _key(client_token, "client_token")
        self.allowed_origins: Optional[frozenset[str]] = (
            None
            if allowed_origins is None
            else frozenset(normalize_origin(origin) for origin in allowed_origins)
        )
        self._state = State()
        self._endpoints = Endpoints(
            Settings(
                self.app_id,
                self.app_token,
                self.client_app_id,
                self.client_token,
                self.allowed_origins,
            ),
            self._state,
        )
        self._lock = threading.Lock()
        self._server: Optional[LocalHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalVoucherify:
        """Bind the port and serve from a background thread; raises if already running."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("LocalVoucherify is already running")
            server = LocalHTTPServer((self.host, self._requested_port), self._endpoints)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL_SECONDS},
                name=f"LocalVoucherify:{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and free the port; does nothing if stopped."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()

    def __enter__(self) -> LocalVoucherify:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port while running; the requested one (0: any free port) otherwise."""
        server = self._server
        return self._requested_port if server is None else int(server.server_address[1])

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, the value for ``Configuration(host=...)``."""
        server = self._server
        if server is None:
            raise RuntimeError("LocalVoucherify is not running; call start() first")
        return f"http://{self.host}:{server.server_address[1]}"

    # -- what it saw -------------------------------------------------------------------------

    @property
    def events(self) -> list[RecordedEvent]:
        """Copies of the accepted events, oldest first."""
        return self._state.events()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copies of every request received, with the status it got, oldest first."""
        return self._state.requests()

    @property
    def customers(self) -> list[dict[str, Any]]:
        """Copies of the customers events created or updated, in creation order."""
        return self._state.customers()

    def reset(self) -> None:
        """Forget every event, request and customer; keys, port and URL stay."""
        self._state.reset()

    def __repr__(self) -> str:
        # Never the keys: a repr ends up in logs and test reports.
        server = self._server
        if server is None:
            return "LocalVoucherify(stopped)"
        return f"LocalVoucherify(url='http://{self.host}:{server.server_address[1]}')"


def _key(value: Optional[str], name: str) -> str:
    if value is None:
        return secrets.token_hex(16)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value
