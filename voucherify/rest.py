"""The urllib3 transport: a connection pool that moves bytes and reports failures.

It knows nothing of models or operations. Every urllib3 failure leaves this module as an
:class:`~voucherify.exceptions.ApiTransportException` subclass that says whether the request
may have reached the server, from the table in :mod:`voucherify._pipeline.failures` that
the async transport uses too. ``ApiException`` is re-exported here for code written against
the official SDK (``from voucherify.rest import ApiException``).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import threading
import weakref
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional, Union

import urllib3
from urllib3 import exceptions as u3
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util.retry import Retry
from urllib3.util.url import parse_url

from voucherify._deadline_io import POOL_CLASSES, UnplaceableReply, current_deadline
from voucherify._pipeline import failures
from voucherify._pipeline.failures import Kind, Phase, Progress, current_progress
from voucherify._pipeline.headers import forbidden_header_error
from voucherify._pipeline.proxies import proxy_route
from voucherify._pipeline.reply_limit import READ_CHUNK, ReplyBody, max_response_bytes
from voucherify._pipeline.steps import Reply, Send, Timeouts
from voucherify._pipeline.urls import proxy_for
from voucherify.configuration import Configuration
from voucherify.exceptions import (
    ApiException,
    ApiResponseTooLargeException,
    ApiTransportException,
    ApiValueError,
)

if TYPE_CHECKING:
    from voucherify._pipeline.request import PreparedRequest

__all__ = ["ApiException", "RESTClientObject", "RESTResponse", "translate_transport_error"]

RESTResponse = urllib3.BaseHTTPResponse
"""The raw reply type, as returned by the ``..._without_preload_content`` variants."""


_Route = tuple[Union[HTTPConnectionPool, urllib3.PoolManager], str]
"""How to reach a URL: its host's pool or its proxy manager, and the target to give its
``urlopen`` (the path for a pool, the whole URL for a proxy manager)."""

_MAX_ROUTES = 32

_NO_RETRIES = Retry(False, redirect=False)
"""urllib3 retries nothing itself (the SDK's policy decides); built once rather than per call."""


@lru_cache(maxsize=32)
def _timeout(timeouts: Timeouts) -> urllib3.Timeout:
    if timeouts is None:
        return urllib3.Timeout(connect=None, read=None)
    return urllib3.Timeout(connect=timeouts[0], read=timeouts[1])


def translate_transport_error(
    exc: BaseException, phase: Optional[Phase] = None
) -> ApiTransportException:
    """The SDK exception for a urllib3 or socket failure, saying whether the request was sent.

    ``phase`` is how far the attempt got (the transport tracks it); without it, only the
    failures urllib3 raises before connecting count as not sent. Anything after the first
    byte of the request was written may have been processed: the server can record an event
    and then lose the reply, and a proxy can forward it and then drop the connection.
    """
    if phase is None:
        phase = _phase_of(exc)
    return failures.transport_error(phase, _kind_of(exc), _detail(exc))


def _detail(exc: BaseException) -> str:
    status = _proxy_status(exc)
    if status is not None:
        return failures.status_text(status)
    for inner in failures.causes(exc):
        if isinstance(inner, UnplaceableReply):
            return str(inner)
    return failures.describe(exc)


_PROXY_STATUS = re.compile(r"Tunnel connection failed: (\d{3})")


def _proxy_status(exc: BaseException) -> Optional[int]:
    """The status a proxy refused the ``CONNECT`` with, when that is what ``exc`` reports
    (http.client says so only in the text of an ``OSError``)."""
    for inner in failures.causes(exc):
        if isinstance(inner, OSError) and not isinstance(inner, ssl.SSLError):
            match = _PROXY_STATUS.match(str(inner))
            if match:
                return int(match.group(1))
    return None


def _phase_of(exc: BaseException) -> Phase:
    if isinstance(exc, (u3.ClosedPoolError, u3.EmptyPoolError)):
        return Phase.POOL
    if isinstance(exc, (u3.NewConnectionError, u3.ConnectTimeoutError)):
        return Phase.CONNECT
    return Phase.SENT


def _is_timeout(exc: BaseException) -> bool:
    # urllib3 2 derives NewConnectionError (refused, unreachable...) from ConnectTimeoutError.
    if isinstance(exc, u3.NewConnectionError):
        return False
    return isinstance(exc, (u3.TimeoutError, socket.timeout, TimeoutError))


def _kind_of(exc: BaseException) -> Kind:
    """What broke, from urllib3's exception and whatever it wraps."""
    if isinstance(exc, (u3.ClosedPoolError, u3.EmptyPoolError)):
        return Kind.CLOSED
    if _proxy_status(exc) is not None:
        return Kind.REFUSED_BY_PROXY
    chain = list(failures.causes(exc))
    if any(_is_timeout(inner) for inner in chain):
        return Kind.TIMEOUT
    if any(isinstance(inner, ssl.SSLCertVerificationError) for inner in chain):
        return Kind.CERTIFICATE
    for inner in reversed(chain):  # the innermost cause says most
        if isinstance(inner, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)):
            return Kind.BROKEN  # the peer closed or reset: no protocol said anything
        if isinstance(inner, ssl.SSLError):
            return Kind.TLS
        if isinstance(inner, (http.client.IncompleteRead, u3.IncompleteRead)):
            return Kind.BROKEN
        if isinstance(inner, (http.client.HTTPException, u3.DecodeError,
                              u3.HeaderParsingError, u3.InvalidChunkLength)):
            return Kind.BAD_REPLY
    return Kind.BROKEN


class RESTClientObject:
    """urllib3 pools built from a :class:`Configuration`; safe to share between threads.

    Requests go direct, or through ``Configuration.proxy``, or, with ``trust_env``, through
    the proxy that ``HTTPS_PROXY``/``HTTP_PROXY`` name unless ``NO_PROXY`` exempts the host.
    Loopback hosts always go direct. In a forked child the pools start empty, so parent and
    child never share a socket.
    """

    def __init__(self, configuration: Configuration) -> None:
        self._configuration = configuration
        self._pool_args = _pool_args(configuration)
        self._lock = threading.Lock()
        self._open_pools()
        _LIVE_CLIENTS.add(self)

    def _open_pools(self) -> None:
        self.pool_manager = urllib3.PoolManager(**self._pool_args)
        self.pool_manager.pool_classes_by_scheme = POOL_CLASSES
        self._proxy_managers: dict[str, urllib3.ProxyManager] = {}
        self._routes: dict[str, _Route] = {}

    def _route_for(self, url: str) -> _Route:
        route = self._routes.get(url)
        if route is None:
            proxy = proxy_for(url, self._configuration)
            if proxy is None:
                # Straight to the host's pool: PoolManager.urlopen would parse the URL and
                # look the pool up again on every call.
                pool = self.pool_manager.connection_from_url(url)
                route = (pool, parse_url(url).request_uri)
            else:
                route = (self._proxy_manager(proxy), url)
            if len(self._routes) >= _MAX_ROUTES:
                # Routes keep their pools alive, even ones the manager has since dropped.
                self._routes.clear()
            self._routes[url] = route
        return route

    def _proxy_manager(self, proxy: str) -> urllib3.ProxyManager:
        with self._lock:
            manager = self._proxy_managers.get(proxy)
            if manager is None:
                route = proxy_route(proxy, self._configuration.proxy_headers)
                manager = urllib3.ProxyManager(
                    proxy_url=route.url, proxy_headers=route.headers, **self._pool_args
                )
                manager.pool_classes_by_scheme = POOL_CLASSES
                self._proxy_managers[proxy] = manager
            return manager

    def request(
        self, request: PreparedRequest, step: Send, preload_content: bool = True
    ) -> urllib3.BaseHTTPResponse:
        """Send ``request`` once, with ``step``'s timeouts; redirects are not followed, so
        keys never go to another origin.

        With ``step.deadline_at`` (a ``time.monotonic()`` value), every read of the reply,
        the ones its caller makes later included, gives up when it passes.
        """
        url = request.url
        progress = Progress()
        token = current_progress.set(progress)
        deadline_token = current_deadline.set(step.deadline_at)
        try:
            opener, target = self._route_for(url)
            return opener.urlopen(
                request.method,
                target,
                body=request.body,
                headers=request.headers,
                timeout=_timeout(step.timeouts),
                retries=_NO_RETRIES,
                redirect=False,
                preload_content=preload_content,
            )
        except (u3.HTTPError, OSError, http.client.HTTPException) as exc:
            if isinstance(exc, u3.ClosedPoolError):
                self._routes.pop(url, None)  # a retry looks the host's pool up again
            raise translate_transport_error(exc, progress.phase) from exc
        except ApiValueError:
            raise
        except ValueError:
            raise forbidden_header_error() from None
        finally:
            current_deadline.reset(deadline_token)
            current_progress.reset(token)

    def send(self, request: PreparedRequest, step: Send) -> Reply:
        """Send ``request`` for one attempt and read the whole reply by ``step.deadline_at``.

        ``step.deadline_at`` is a ``time.monotonic()`` value (``None``: no deadline) that
        bounds every read of the reply, so a server trickling it byte by byte is cut off too.
        The body is refused past ``configuration.max_response_bytes``; it is read in one read
        when its ``Content-Length`` bounds it (fewer calls), in chunks otherwise.
        """
        limit = max_response_bytes(self._configuration)
        response = self.request(request, step, preload_content=False)
        try:
            headers = response.headers
            reply = ReplyBody(limit, response.status, headers)
            if _read_at_once(headers):
                reply.add(response.read())
            else:
                for chunk in response.stream(READ_CHUNK):
                    reply.add(chunk)
        except ApiResponseTooLargeException:
            response.close()  # the rest is unread: the connection must not be reused
            raise
        except (u3.HTTPError, OSError, http.client.HTTPException) as exc:
            raise translate_transport_error(exc, Phase.SENT) from exc
        finally:
            response.release_conn()
        return Reply(response.status, response.reason, response.headers, reply.value())

    def close(self) -> None:
        """Close every pooled connection now.

        urllib3's ``PoolManager.clear`` only forgets its pools, leaving their connections to
        be closed when nothing refers to them any more (an unread response still does).
        """
        # tuple() copies in one step: calls in other threads may add routes meanwhile.
        pools: list[Any] = [opener for opener, _ in tuple(self._routes.values())]
        self._routes.clear()
        for manager in [self.pool_manager, *tuple(self._proxy_managers.values())]:
            # keys(), not iteration: the container refuses to be iterated without its lock.
            pools += [manager.pools.get(key) for key in manager.pools.keys()]  # noqa: SIM118
            manager.clear()
        for pool in pools:
            if isinstance(pool, HTTPConnectionPool):
                pool.close()


def _read_at_once(headers: urllib3.HTTPHeaderDict) -> bool:
    """Whether a reply's body can be read in one read: a length that bounds it (the one
    :class:`ReplyBody` checked against the limit), not chunked, and nothing to decode."""
    declared = headers.get("Content-Length")
    if declared is None or not (declared.isascii() and declared.isdigit()):
        return False
    if "Transfer-Encoding" in headers:
        return False
    encoding = headers.get("Content-Encoding")
    return encoding is None or encoding.strip().lower() == "identity"


def _pool_args(configuration: Configuration) -> dict[str, Any]:
    pool_args: dict[str, Any] = {
        "num_pools": 4,
        "maxsize": configuration.connection_pool_maxsize,
        "block": False,
        "retries": False,
    }
    if configuration.verify_ssl:
        pool_args["cert_reqs"] = ssl.CERT_REQUIRED
        pool_args["ca_certs"] = configuration.ssl_ca_cert
    else:
        pool_args["cert_reqs"] = ssl.CERT_NONE
    if configuration.cert_file:
        pool_args["cert_file"] = configuration.cert_file
        pool_args["key_file"] = configuration.key_file
    if configuration.assert_hostname is not None:
        pool_args["assert_hostname"] = configuration.assert_hostname
    if configuration.tls_server_name:
        pool_args["server_hostname"] = configuration.tls_server_name
    if configuration.socket_options is not None:
        pool_args["socket_options"] = configuration.socket_options
    return pool_args


_LIVE_CLIENTS: weakref.WeakSet[RESTClientObject] = weakref.WeakSet()


def _forget_pools_in_child() -> None:
    # The parent's pooled sockets now belong to two processes; the child drops its references
    # (closing them would not affect the parent, but nothing must be sent on them).
    for client in list(_LIVE_CLIENTS):
        client._open_pools()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)
