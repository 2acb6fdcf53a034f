"""``LocalVoucherify``: the stand-in's public face, starting and stopping a server thread."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

from typing_extensions import Unpack

from voucherify._closing import Closing
from voucherify.testing._endpoints import Endpoints, Settings
from voucherify.testing._fault_queue import FaultQueue
from voucherify.testing._options import ServerOptions, make_key, normalized_origins
from voucherify.testing._rate_limit import (
    CLIENT,
    PROJECT,
    RateLimiter,
    limit_from_pair,
    make_limit,
)
from voucherify.testing._schemas import EventSchemas
from voucherify.testing._server import AdminApi, LocalHTTPServer
from voucherify.testing._state import RecordedEvent, RecordedRequest, State
from voucherify.testing.faults import Fault

if TYPE_CHECKING:
    from voucherify.testing._process import LocalVoucherifyProcess

_POLL_SECONDS = 0.05
"""How often the serving loop checks for a stop request; bounds how long ``stop`` takes."""


class LocalVoucherify(Closing):
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

    ``rate_limit=(N, S)`` allows N calls to ``/v1/events`` per S seconds for the project,
    ``client_rate_limit`` the same for ``/client/v1/events`` per client IP (the real API's
    is ``(5, 5.0)``); both are off by default. ``event_schemas`` defines events with their
    metadata schemas, as :meth:`define_event` does. :meth:`inject` queues faults.
    :meth:`start_process` runs the same server in a child process instead.
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
        rate_limit: Optional[tuple[int, float]] = None,
        client_rate_limit: Optional[tuple[int, float]] = None,
        event_schemas: Optional[Mapping[str, Mapping[str, str]]] = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.app_id = make_key(app_id, "app_id")
        self.app_token = make_key(app_token, "app_token")
        self.client_app_id = make_key(client_app_id, "client_app_id")
        self.client_token = make_key(client_token, "client_token")
        self.allowed_origins = normalized_origins(allowed_origins)
        self._state = State()
        self._faults = FaultQueue()
        self._endpoints = Endpoints(
            Settings(
                self.app_id,
                self.app_token,
                self.client_app_id,
                self.client_token,
                self.allowed_origins,
            ),
            self._state,
            rate_limit=RateLimiter(PROJECT, limit_from_pair(rate_limit)),
            client_rate_limit=RateLimiter(CLIENT, limit_from_pair(client_rate_limit)),
            schemas=EventSchemas(event_schemas),
        )
        self._admin: Optional[AdminApi] = None
        self._lock = threading.Lock()
        self._server: Optional[LocalHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @staticmethod
    def start_process(
        startup_timeout: float = 10.0, **options: Unpack[ServerOptions]
    ) -> LocalVoucherifyProcess:
        """Run a server with these settings in a child process; return once it serves.

        Takes the same keywords as this class. The result has this class's query and
        control surface, over a private admin API; see
        :class:`~voucherify.testing._process.LocalVoucherifyProcess`.
        """
        from voucherify.testing._process import LocalVoucherifyProcess

        return LocalVoucherifyProcess.start(startup_timeout=startup_timeout, **options)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalVoucherify:
        """Bind the port and serve from a background thread; raises if already running."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("LocalVoucherify is already running")
            server = LocalHTTPServer(
                (self.host, self._requested_port), self._endpoints, self._faults, self._admin
            )
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

    def close(self) -> None:
        """The same as :meth:`stop`; ``with`` calls it when the block ends."""
        self.stop()

    def __enter__(self) -> LocalVoucherify:
        return self.start()  # unlike the other ``with`` objects, it starts serving here

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

    @property
    def rate_limited(self) -> int:
        """How many requests were refused with 429 by a rate limit."""
        return self._state.rate_limited()

    def reset(self) -> None:
        """Start over: forget every event, request and customer, the count of 429s, the
        rate-limit windows and the queued faults.

        The settings stay: keys, port and URL, limits and event definitions.
        """
        self._faults.clear()
        self._endpoints.rate_limit.forget()
        self._endpoints.client_rate_limit.forget()
        self._state.reset()

    # -- faults, limits, definitions ---------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1, path: Optional[str] = None) -> None:
        """Apply ``fault`` to the next ``times`` requests to ``path`` (``None``: any path).

        Injections apply in the order they were made; ``path`` is compared with the request's
        path without its query string, like ``"/v1/events"``. A fault applies before keys
        and rate limits are checked; whether the request is then processed depends on the
        fault (see :mod:`voucherify.testing.faults`).
        """
        self._faults.inject(fault, times, path)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self._faults.clear()

    def set_rate_limit(self, limit: Optional[int], window_seconds: float = 60.0) -> None:
        """Allow ``limit`` calls to ``/v1/events`` per ``window_seconds``; ``None``: no limit.

        The window starts afresh.
        """
        self._endpoints.rate_limit.configure(make_limit(limit, window_seconds))

    def set_client_rate_limit(self, limit: Optional[int], window_seconds: float = 60.0) -> None:
        """Allow ``limit`` calls to ``/client/v1/events`` per ``window_seconds`` per client IP.

        ``None`` turns the limit off; every window starts afresh.
        """
        self._endpoints.client_rate_limit.configure(make_limit(limit, window_seconds))

    def define_event(self, name: str, metadata: Optional[Mapping[str, str]] = None) -> None:
        """Define event ``name``, with a metadata schema such as ``{"plan": "string"}``.

        Types are ``string``, ``number``, ``boolean``, ``date`` and ``datetime``; a ``?``
        suffix (``"number?"``) makes a property optional. Once any event is defined, other
        names are refused (400 ``event_not_defined``); see :mod:`voucherify.testing._schemas`.
        Defining a name again replaces its schema.
        """
        self._endpoints.schemas.define(name, metadata)

    def _serve_admin_api(self, admin: AdminApi) -> None:
        """Answer ``/_local/`` requests with ``admin`` from the next :meth:`start` on.

        For ``python -m voucherify.testing serve`` in a child process only.
        """
        self._admin = admin

    def __repr__(self) -> str:
        # Never the keys: a repr ends up in logs and test reports.
        server = self._server
        if server is None:
            return "LocalVoucherify(stopped)"
        return f"LocalVoucherify(url='http://{self.host}:{server.server_address[1]}')"
