"""The urllib3 transport: a connection pool that moves bytes and reports failures.

It knows nothing of models or operations. Every urllib3 failure leaves this module as an
:class:`~voucherify.exceptions.ApiTransportException` subclass that says whether the request
may have reached the server. ``ApiException`` is re-exported here for code written against
the official SDK (``from voucherify.rest import ApiException``).
"""

from __future__ import annotations

import os
import ssl
import threading
import weakref
from functools import lru_cache
from typing import Any, Mapping, Optional, Union

import urllib3
from urllib3 import exceptions as u3
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util.retry import Retry
from urllib3.util.url import parse_url

from voucherify._deadline_io import POOL_CLASSES, current_deadline
from voucherify._pipeline.headers import forbidden_header_error
from voucherify._pipeline.reply_limit import READ_CHUNK, ReplyBody, max_response_bytes
from voucherify._pipeline.urls import proxy_for
from voucherify.configuration import Configuration
from voucherify.exceptions import (
    ApiConnectionException,
    ApiException,
    ApiResponseTooLargeException,
    ApiSSLException,
    ApiTimeoutException,
    ApiTransportException,
)

__all__ = ["ApiException", "RESTClientObject", "RESTResponse", "translate_transport_error"]

RESTResponse = urllib3.BaseHTTPResponse
"""The raw reply type, as returned by the ``..._without_preload_content`` variants."""

Timeouts = Optional[tuple[Optional[float], Optional[float]]]


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


def translate_transport_error(exc: BaseException) -> ApiTransportException:
    """The SDK exception for a urllib3 or socket failure, saying whether the request was sent.

    Failures while connecting (refused, DNS, TLS handshake, connect timeout) happen before
    any byte of the request leaves, so the request was certainly not processed. Anything
    later may have been: the server can record an event and then lose the reply.
    """
    if isinstance(exc, u3.SSLError):
        # Certificate and handshake failures happen while connecting; others may come later.
        text = str(exc)
        handshake = "CERTIFICATE_VERIFY_FAILED" in text or "handshake" in text.lower()
        return ApiSSLException(f"TLS failure: {text}", request_sent=False if handshake else None)
    if isinstance(exc, u3.ClosedPoolError):
        # Raised while taking a connection, before anything is sent: close() ran meanwhile.
        return ApiConnectionException("the client was closed as this call began",
                                      request_sent=False)
    if isinstance(exc, u3.ProxyError):
        return ApiConnectionException(f"proxy failure: {_reason(exc)}", request_sent=False)
    if isinstance(exc, u3.NewConnectionError):
        return ApiConnectionException(f"cannot connect: {_reason(exc)}", request_sent=False)
    if isinstance(exc, u3.ConnectTimeoutError):
        return ApiTimeoutException("timed out while connecting", request_sent=False)
    if isinstance(exc, u3.ReadTimeoutError):
        return ApiTimeoutException("timed out waiting for the reply", request_sent=None)
    if isinstance(exc, u3.ProtocolError):
        return ApiConnectionException(f"connection broken: {_reason(exc)}", request_sent=None)
    return ApiConnectionException(f"transport failure: {_reason(exc)}", request_sent=None)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


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
                manager = urllib3.ProxyManager(
                    proxy_url=proxy,
                    proxy_headers=self._configuration.proxy_headers,
                    **self._pool_args,
                )
                manager.pool_classes_by_scheme = POOL_CLASSES
                self._proxy_managers[proxy] = manager
            return manager

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Optional[bytes],
        timeouts: Timeouts,
        preload_content: bool = True,
        deadline_at: Optional[float] = None,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; redirects are not followed, so keys never go to another origin.

        With ``deadline_at`` (a ``time.monotonic()`` value), every read of the reply, the
        ones its caller makes later included, gives up when it passes.
        """
        token = current_deadline.set(deadline_at)
        try:
            opener, target = self._route_for(url)
            return opener.urlopen(
                method,
                target,
                body=body,
                headers=headers,
                timeout=_timeout(timeouts),
                retries=_NO_RETRIES,
                redirect=False,
                preload_content=preload_content,
            )
        except (u3.HTTPError, OSError) as exc:
            if isinstance(exc, u3.ClosedPoolError):
                self._routes.pop(url, None)  # a retry looks the host's pool up again
            raise translate_transport_error(exc) from exc
        except ValueError:
            raise forbidden_header_error() from None
        finally:
            current_deadline.reset(token)

    def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Optional[bytes],
        timeouts: Timeouts,
        deadline_at: Optional[float],
    ) -> tuple[int, Optional[str], Mapping[str, str], bytes]:
        """Send one request and read the whole reply, giving up at ``deadline_at``.

        ``deadline_at`` is a ``time.monotonic()`` value (``None``: no deadline) that bounds
        every read of the reply, so a server trickling it byte by byte is cut off too. The
        body is read in chunks and refused past ``configuration.max_response_bytes``.
        """
        limit = max_response_bytes(self._configuration)
        response = self.request(
            method, url, headers, body, timeouts, preload_content=False, deadline_at=deadline_at
        )
        try:
            reply = ReplyBody(limit, response.status, response.headers)
            for chunk in response.stream(READ_CHUNK):
                reply.add(chunk)
        except ApiResponseTooLargeException:
            response.close()  # the rest is unread: the connection must not be reused
            raise
        except (u3.HTTPError, OSError) as exc:
            raise translate_transport_error(exc) from exc
        finally:
            response.release_conn()
        return response.status, response.reason, response.headers, reply.value()

    def close(self) -> None:
        """Close every pooled connection now.

        urllib3's ``PoolManager.clear`` only forgets its pools, leaving their connections to
        be closed when nothing refers to them any more (an unread response still does).
        """
        pools: list[Any] = [opener for opener, _ in self._routes.values()]
        self._routes.clear()
        for manager in [self.pool_manager, *self._proxy_managers.values()]:
            # keys(), not iteration: the container refuses to be iterated without its lock.
            pools += [manager.pools.get(key) for key in manager.pools.keys()]  # noqa: SIM118
            manager.clear()
        for pool in pools:
            if isinstance(pool, HTTPConnectionPool):
                pool.close()


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
