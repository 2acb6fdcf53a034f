"""The aiohttp transport: one session per client, and aiohttp failures as SDK exceptions.

It mirrors :mod:`voucherify.rest` (TLS settings, proxies, no redirects, timeouts, the
"was the request sent?" verdict on every failure); what to send and what a reply means is
decided elsewhere, once for both clients. ``socket_options`` needs aiohttp 3.12 or newer
(its ``socket_factory``); with an older aiohttp the client refuses them rather than ignore them.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import socket
import ssl
import time
from functools import lru_cache
from typing import Any, Mapping, Optional

from voucherify._pipeline.headers import forbidden_header_error
from voucherify._pipeline.urls import proxy_for
from voucherify.configuration import Configuration
from voucherify.exceptions import (
    ApiConnectionException,
    ApiSSLException,
    ApiTimeoutException,
    ApiTransportException,
    ApiValueError,
)

try:
    import aiohttp
except ImportError as missing:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'voucherify.aio needs aiohttp: install it with pip install "voucherify-events[async]"'
    ) from missing

Timeouts = Optional[tuple[Optional[float], Optional[float]]]
Reply = tuple[int, Optional[str], Mapping[str, str], bytes]

# aiohttp 3.10 split its timeout error by phase; older versions raise ServerTimeoutError.
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(aiohttp, "ConnectionTimeoutError", None),) if cls is not None
)


def translate_transport_error(exc: BaseException) -> ApiTransportException:
    """The SDK exception for an aiohttp or asyncio failure, saying whether it was sent."""
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        before = isinstance(exc, aiohttp.ClientConnectorError)
        return ApiSSLException(f"TLS failure: {exc}", request_sent=False if before else None)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ApiConnectionException(f"cannot connect: {exc}", request_sent=False)
    if _CONNECT_TIMEOUT and isinstance(exc, _CONNECT_TIMEOUT):
        return ApiTimeoutException("timed out while connecting", request_sent=False)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return ApiTimeoutException("timed out waiting for the reply", request_sent=None)
    return ApiConnectionException(
        f"connection broken: {type(exc).__name__}: {exc}", request_sent=None
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


class AsyncRESTClientObject:
    """An aiohttp session built from a :class:`Configuration`, opened on first use.

    One instance belongs to one event loop: the session is made in the loop that first
    sends through it.
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
        self._session: Optional[aiohttp.ClientSession] = None
        self._proxies: dict[str, Optional[str]] = {}

    def _session_for_loop(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=max(100, self._configuration.connection_pool_maxsize),
                ssl=self._ssl,
                **self._socket_args,
            )
            session = aiohttp.ClientSession(connector=connector, trust_env=False)
            self._session = session
        return session

    def _proxy(self, url: str) -> Optional[str]:
        if url not in self._proxies:
            self._proxies[url] = proxy_for(url, self._configuration)
        return self._proxies[url]

    async def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Optional[bytes],
        timeouts: Timeouts,
        deadline: Optional[float] = None,
    ) -> aiohttp.ClientResponse:
        """Send one request and return the reply unread; redirects are never followed."""
        connect, read = timeouts or (None, None)
        if deadline is not None:
            # Whole milliseconds, rounded down, so that calls share a few cached timeouts.
            deadline = max(math.floor(deadline * 1000) / 1000, 0.001)
        timeout = _client_timeout(deadline, connect, read)
        proxy = self._proxy(url)
        try:
            return await self._session_for_loop().request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=self._configuration.proxy_headers if proxy else None,
                server_hostname=self._server_hostname,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise translate_transport_error(exc) from exc
        except ValueError:
            raise forbidden_header_error() from None

    async def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Optional[bytes],
        timeouts: Timeouts,
        deadline_at: Optional[float],
    ) -> Reply:
        """Send one request and read the whole reply, all before ``deadline_at``.

        ``deadline_at`` is a ``time.monotonic()`` value; aiohttp's ``total`` timeout then
        bounds connecting, sending and every read, so a trickled reply is cut off too.
        """
        deadline = None if deadline_at is None else max(deadline_at - time.monotonic(), 0.001)
        response = await self.request(method, url, headers, body, timeouts, deadline)
        try:
            async with response:
                data = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise translate_transport_error(exc) from exc
        return response.status, response.reason, response.headers, data

    async def close(self) -> None:
        """Close the session and every connection it holds."""
        if self._session is not None:
            await self._session.close()
            self._session = None
