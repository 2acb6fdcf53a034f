"""The aiohttp transport: one session per client, and aiohttp failures as SDK exceptions.

It mirrors :mod:`voucherify.rest` (TLS settings, proxies, no redirects, timeouts, the
"was the request sent?" verdict on every failure, from the table in
:mod:`voucherify._pipeline.failures` both use); what to send and what a reply means is
decided elsewhere, once for both clients. ``socket_options`` needs aiohttp 3.12 or newer
(its ``socket_factory``); with an older aiohttp the client refuses them rather than ignore them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import socket
import ssl
import threading
import time
import weakref
from functools import lru_cache
from typing import TYPE_CHECKING, Any, AsyncGenerator, Optional

from voucherify._pipeline import failures
from voucherify._pipeline.failures import Kind, Phase, Progress, current_progress
from voucherify._pipeline.headers import forbidden_header_error
from voucherify._pipeline.proxies import PROXY_AUTHORIZATION, ProxyRoute, proxy_route
from voucherify._pipeline.reply_limit import (
    READ_CHUNK,
    ReplyBody,
    max_response_bytes,
    too_large,
)
from voucherify._pipeline.steps import Reply, Send, Timeouts
from voucherify._pipeline.urls import proxy_for
from voucherify.configuration import Configuration
from voucherify.exceptions import (
    ApiResponseTooLargeException,
    ApiTransportException,
    ApiValueError,
)

if TYPE_CHECKING:
    from voucherify._pipeline.request import PreparedRequest

try:
    import aiohttp
except ImportError as missing:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'voucherify.aio needs aiohttp: install it with pip install "voucherify-events[async]"'
    ) from missing

RESTResponse = aiohttp.ClientResponse
"""The raw reply type, as returned by the ``..._without_preload_content`` variants."""

def translate_transport_error(
    exc: BaseException, phase: Optional[Phase] = None
) -> ApiTransportException:
    """The SDK exception for an aiohttp or asyncio failure, saying whether it was sent.

    ``phase`` is how far the attempt got (the transport tracks it: whether the connection
    was made); without it, only aiohttp's connection errors count as not sent.
    """
    if phase is None:
        phase = Phase.CONNECT if isinstance(exc, aiohttp.ClientConnectorError) else Phase.SENT
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return failures.transport_error(
            phase, Kind.REFUSED_BY_PROXY, failures.status_text(exc.status)
        )
    return failures.transport_error(phase, _kind_of(exc), failures.describe(exc))


def _kind_of(exc: BaseException) -> Kind:
    """What broke, from aiohttp's exception and whatever it wraps."""
    chain = list(failures.causes(exc))
    if any(isinstance(inner, (asyncio.TimeoutError, aiohttp.ServerTimeoutError))
           for inner in chain):
        return Kind.TIMEOUT
    if any(isinstance(inner, (aiohttp.ClientConnectorCertificateError,
                              ssl.SSLCertVerificationError)) for inner in chain):
        return Kind.CERTIFICATE
    for inner in reversed(chain):  # the innermost cause says most
        if isinstance(inner, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError,
                              aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
            return Kind.BROKEN  # the peer closed, reset or cut the reply short
        if isinstance(inner, (ssl.SSLError, aiohttp.ClientSSLError)):
            return Kind.TLS
        if isinstance(inner, aiohttp.ClientResponseError):
            return Kind.BAD_REPLY
    return Kind.BROKEN


class _TrackingConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` that notes when an attempt has its connection: until then nothing of
    the request was written (whatever aiohttp calls the failure), from then on it may be."""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        failures.reach(Phase.CONNECT)
        connection = await super().connect(req, traces, timeout)
        failures.reach(Phase.SENT)
        return connection


_MAX_URLS = 32
"""URLs whose proxy decision a transport keeps, as the sync one keeps its routes."""
_CONTENT_TYPE = frozenset({"Content-Type"})


# aiohttp 3.13.3 to 3.13.x refuse, by themselves, a piece of a body that inflates too far.
_INFLATE_REFUSED: tuple[type[BaseException], ...] = tuple(
    cls
    for cls in (getattr(aiohttp.http_exceptions, "DecompressSizeError", None),)
    if cls is not None
)


def _inflated_too_far(exc: BaseException) -> bool:
    """Whether aiohttp's own decompression limit caused ``exc`` (it is a cause it wraps)."""
    return bool(_INFLATE_REFUSED) and any(
        isinstance(inner, _INFLATE_REFUSED) for inner in failures.causes(exc)
    )


@lru_cache(maxsize=64)
def _client_timeout(
    total: Optional[float], connect: Optional[float], read: Optional[float]
) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)


def _socket_args(options: Optional[list[tuple[int, int, int]]]) -> dict[str, Any]:
    """``TCPConnector`` arguments that apply ``Configuration.socket_options`` to every socket."""
    if options is None:
        return {}
    if "socket_factory" not in inspect.signature(aiohttp.TCPConnector).parameters:
        raise ApiValueError(
            "configuration.socket_options needs aiohttp 3.12 or newer in the async client; "
            f"this is aiohttp {aiohttp.__version__}"
        )
    chosen = list(options)

    def make_socket(address: Any) -> socket.socket:
        family, kind, protocol = address[0], address[1], address[2]
        sock = socket.socket(family, kind, protocol)
        try:
            for level, name, value in chosen:
                sock.setsockopt(level, name, value)
        except OSError:
            sock.close()
            raise
        return sock

    return {"socket_factory": make_socket}


def _ssl_setting(configuration: Configuration) -> Any:
    if not configuration.verify_ssl:
        return False
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if configuration.assert_hostname is False:
        context.check_hostname = False
    return context


async def _close_with_its_loop(
    session: weakref.ReferenceType[aiohttp.ClientSession],
) -> AsyncGenerator[None, None]:
    """Suspended for a session's life; finalised by ``loop.shutdown_asyncgens()`` (which
    ``asyncio.run`` and pytest-asyncio call), it closes the session while its loop can."""
    try:
        yield
    finally:
        open_session = session()
        if open_session is not None and not open_session.closed:
            with contextlib.suppress(Exception):  # nothing to do about a failed close
                await open_session.close()


class _LoopSession:
    """One event loop's session and the generator that closes it when that loop ends."""

    __slots__ = ("closer", "session")

    def __init__(
        self, session: aiohttp.ClientSession, closer: AsyncGenerator[None, None]
    ) -> None:
        self.session = session
        self.closer = closer


_CLOSING: set[asyncio.Task[Any]] = set()
"""Closes scheduled in other loops, referenced until done (asyncio keeps tasks weakly)."""


def _close_in_its_loop(bound: _LoopSession) -> None:
    # Runs as a callback in the session's own loop, scheduled from another one.
    task = asyncio.get_running_loop().create_task(bound.closer.aclose())
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


class AsyncRESTClientObject:
    """aiohttp sessions built from a :class:`Configuration`, one per event loop.

    A session is opened on the first call in a loop and belongs to that loop: a client used
    by a second ``asyncio.run``, or by threads that each run their own loop, opens one in
    each. A loop's session is closed when the loop shuts down its async generators (as
    ``asyncio.run`` does), and dropped without awaiting anything when its loop was closed
    without that.
    """

    def __init__(self, configuration: Configuration) -> None:
        self._configuration = configuration
        self._ssl = _ssl_setting(configuration)
        assert_hostname = configuration.assert_hostname
        # The name the certificate must carry, when it is not the URL's host.
        self._server_hostname: Optional[str] = configuration.tls_server_name or (
            assert_hostname if isinstance(assert_hostname, str) else None
        )
        self._socket_args = _socket_args(configuration.socket_options)
        self._sessions: dict[asyncio.AbstractEventLoop, _LoopSession] = {}
        self._lock = threading.Lock()
        self._proxies: dict[str, Optional[ProxyRoute]] = {}

    @property
    def _session(self) -> Optional[aiohttp.ClientSession]:
        """The running loop's session, if it has one (``None`` outside a loop)."""
        try:
            bound = self._sessions.get(asyncio.get_running_loop())
        except RuntimeError:
            return None
        return None if bound is None else bound.session

    async def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        bound = self._sessions.get(loop)
        if bound is not None and not bound.session.closed:
            return bound.session
        connector = _TrackingConnector(
            limit=max(100, self._configuration.connection_pool_maxsize),
            ssl=self._ssl,
            **self._socket_args,
        )
        session = aiohttp.ClientSession(connector=connector, trust_env=False)
        closer = _close_with_its_loop(weakref.ref(session))
        # Its first step registers it with this loop, and returns without suspending, so
        # no other call in this loop runs before the session is stored.
        await closer.__anext__()
        with self._lock:
            stale = [self._sessions.pop(other) for other in list(self._sessions)
                     if other.is_closed()]
            self._sessions[loop] = _LoopSession(session, closer)
        for old in stale:
            # Its loop is closed, so this only marks it closed; it awaits nothing there.
            await old.session.close()
        return session

    def _proxy(self, url: str) -> Optional[ProxyRoute]:
        if url not in self._proxies:
            proxy = proxy_for(url, self._configuration)
            if len(self._proxies) >= _MAX_URLS:  # each path value and query is a new URL
                self._proxies.clear()
            self._proxies[url] = (
                None if proxy is None else proxy_route(proxy, self._configuration.proxy_headers)
            )
        return self._proxies[url]

    async def request(
        self, request: PreparedRequest, timeouts: Timeouts, deadline: Optional[float] = None
    ) -> aiohttp.ClientResponse:
        """Send ``request`` once and return the reply unread; redirects are never followed.

        ``deadline`` is the seconds the whole exchange may take (``None``: no limit).
        """
        url, headers, body = request.url, request.headers, request.body
        connect, read = timeouts or (None, None)
        if deadline is not None:
            # Whole milliseconds, rounded down, so that calls share a few cached timeouts.
            deadline = max(math.floor(deadline * 1000) / 1000, 0.001)
        timeout = _client_timeout(deadline, connect, read)
        proxy = self._proxy(url)
        if proxy is not None and proxy.authorization and not url.startswith("https:"):
            # No tunnel: the proxy reads the request itself, and the credentials with it.
            headers = {**headers, PROXY_AUTHORIZATION: proxy.authorization}
        progress = Progress()
        token = current_progress.set(progress)
        try:
            session = await self._session_for_loop()
            return await session.request(
                request.method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy.url if proxy else None,
                proxy_headers=proxy.headers if proxy else None,
                server_hostname=self._server_hostname,
                # Else aiohttp labels a bodiless POST application/octet-stream.
                skip_auto_headers=_CONTENT_TYPE if body is None else None,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise translate_transport_error(exc, progress.phase) from exc
        except ValueError:
            raise forbidden_header_error() from None
        finally:
            current_progress.reset(token)

    async def send(self, request: PreparedRequest, step: Send) -> Reply:
        """Send ``request`` for one attempt and read the whole reply before ``step.deadline_at``.

        ``step.deadline_at`` is a ``time.monotonic()`` value; aiohttp's ``total`` timeout
        then bounds connecting, sending and every read, so a trickled reply is cut off too.
        The body is read in chunks and refused past ``configuration.max_response_bytes``.
        """
        limit = max_response_bytes(self._configuration)
        deadline_at = step.deadline_at
        deadline = None if deadline_at is None else max(deadline_at - time.monotonic(), 0.001)
        response = await self.request(request, step.timeouts, deadline)
        if 100 <= response.status <= 199:
            # aiohttp skips interim replies itself; a 1xx left is a 101, which the SDK never
            # asks for, and nothing says where the real reply starts.
            response.close()
            raise failures.transport_error(
                Phase.SENT, Kind.BAD_REPLY, failures.unrequested_reply(response.status)
            )
        try:
            async with response:
                try:
                    reply = ReplyBody(limit, response.status, response.headers)
                    while True:
                        chunk = await response.content.read(READ_CHUNK)
                        if not chunk:
                            break
                        reply.add(chunk)
                except ApiResponseTooLargeException:
                    response.close()  # the rest is unread: the connection must not be reused
                    raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            if _inflated_too_far(exc):
                raise too_large(response.status, limit) from exc
            raise translate_transport_error(exc, Phase.SENT) from exc
        return Reply(response.status, response.reason, response.headers, reply.value())

    async def close(self) -> None:
        """Close every session and the connections they hold.

        The running loop's session is closed before this returns. Another loop's is closed
        by that loop, soon if it is running, at its next run or shutdown otherwise; a closed
        loop's is only marked closed. Nothing is awaited across loops.
        """
        current = asyncio.get_running_loop()
        with self._lock:
            sessions = list(self._sessions.items())
            self._sessions.clear()
        for loop, bound in sessions:
            if loop is current:
                await bound.closer.aclose()
            elif loop.is_closed():
                await bound.session.close()
            else:
                try:
                    loop.call_soon_threadsafe(_close_in_its_loop, bound)
                except RuntimeError:  # that loop closed meanwhile
                    await bound.session.close()
