"""The fault matrix, as data: each row a fault and what must follow.

A fault is one the stand-in injects, or one on the way to it: a proxy that misbehaves
(refuses or drops the tunnel, fails the TLS handshake, drops the connection after forwarding
the request) or a TLS port that fails the handshake (rawserver's FaultProxy and
FaultyTLSServer). Shared by the sync test (test_fault_matrix.py) and the async one, so both
clients are held to the same outcomes: the result or exception class, whether the request
was sent, how many requests reached the server, how many events it recorded (never a
duplicate where the policy forbids one), and the time taken.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import trustme

import voucherify
from voucherify.retry import RetryPolicy
from voucherify.testing import LocalVoucherify, faults

from rawserver import FaultProxy, FaultyTLSServer

BODY = {"event": "fault_matrix", "customer": {"source_id": "fm-1"}}

OPTIONS: dict[str, Any] = {
    "_retries": RetryPolicy(total=3, backoff_factor=0.05, backoff_jitter=0.0),
    "_request_timeout": (1.0, 0.5),
    "_deadline": 3.0,
}


@dataclass(frozen=True)
class Row:
    id: str
    inject: Callable[[str], list[faults.Fault]]
    """The faults to queue, one request each, given the URL of a second server."""
    expect: Optional[type[voucherify.ApiException]]
    """The exception class the call raises, or ``None`` for success."""
    requests: int
    """Requests that reached the server."""
    events: int
    """Events the server recorded in the end."""
    max_seconds: float
    min_seconds: float = 0.0
    request_sent: Optional[bool] = None
    retryable: Optional[bool] = None
    status: Optional[int] = None
    calls: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    via: Optional[str] = None
    """The way to the stand-in: ``None`` (direct), ``"proxy:MODE"`` (an https host through a
    CONNECT tunnel), ``"proxy-http:MODE"`` (a plain-http host the proxy forwards) or
    ``"tls:FAULT"`` (a TLS port that fails the handshake, instead of the stand-in)."""


def _n(fault: faults.Fault, times: int) -> Callable[[str], list[faults.Fault]]:
    return lambda other: [fault] * times


def _none(other: str) -> list[faults.Fault]:
    return []


STALL_OPTIONS: dict[str, Any] = {"_request_timeout": (0.2, 0.5), "_deadline": 1.0}
"""A silent peer ends each attempt at the connect timeout, or the call at its deadline (aiohttp
waits for a proxy's answer to CONNECT until then)."""

_NOT_SENT = {"requests": 0, "events": 0, "request_sent": False, "retryable": True}
_SENT_ONCE = {"requests": 1, "events": 1, "request_sent": None, "retryable": False}

TRANSPORT_ROWS = [
    Row("proxy-tunnel", _none, None, requests=1, events=1, max_seconds=1.0,
        via="proxy:forward"),
    Row("proxy-plain-http", _none, None, requests=1, events=1, max_seconds=1.0,
        via="proxy-http:forward"),
    *(
        Row(f"proxy-{mode}", _none, voucherify.ApiConnectionException, max_seconds=1.5,
            via=f"proxy:{mode}", **_NOT_SENT)
        for mode in ("refuse-407", "refuse-502", "close-on-connect", "reset-on-connect")
    ),
    Row("proxy-stall-on-connect", _none, voucherify.ApiTimeoutException, max_seconds=1.5,
        options=STALL_OPTIONS, via="proxy:stall-on-connect", **_NOT_SENT),
    *(
        Row(f"{route}-{fault}", _none, expect, max_seconds=1.5,
            options=STALL_OPTIONS if fault == "tls-stall" else {}, via=f"{route}:{fault}",
            **_NOT_SENT)
        for route in ("proxy", "tls")
        for fault, expect in (
            ("tls-eof", voucherify.ApiConnectionException),
            ("tls-reset", voucherify.ApiConnectionException),
            ("tls-garbage", voucherify.ApiSSLException),
            ("tls-plain-http", voucherify.ApiSSLException),
            ("tls-stall", voucherify.ApiTimeoutException),
        )
    ),
    # The proxy forwarded the request, the server recorded the event, and the reply was lost:
    # once, never resent (urllib3 calls these a proxy error, as if nothing had been sent).
    *(
        Row(f"{route}-{mode}", _none, voucherify.ApiConnectionException, max_seconds=1.0,
            via=f"{route}:{mode}", **_SENT_ONCE)
        for route in ("proxy", "proxy-http")
        for mode in ("close-after-forward", "reset-after-forward")
    ),
    Row("proxy-stall-after-forward", _none, voucherify.ApiTimeoutException, max_seconds=1.0,
        via="proxy:stall-after-forward", **_SENT_ONCE),
]


ROWS = [
    Row("reset-before-head", _n(faults.reset(), 1), voucherify.ApiConnectionException,
        requests=1, events=0, max_seconds=1.0, retryable=False),
    Row("reset-after-head", _n(faults.reset_after_head(), 1), voucherify.ApiConnectionException,
        requests=1, events=1, max_seconds=1.0, retryable=False),
    Row("drop-after-processing", _n(faults.drop_after_processing(), 1),
        voucherify.ApiConnectionException, requests=1, events=1, max_seconds=1.0,
        retryable=False),
    Row("429-retry-after", _n(faults.status(429, retry_after=1), 1), None,
        requests=2, events=1, min_seconds=1.0, max_seconds=2.0),
    Row("429-without-retry-after", _n(faults.status(429), 2), None,
        requests=3, events=1, max_seconds=1.0),
    Row("429-until-retries-run-out", _n(faults.status(429), 4),
        voucherify.TooManyRequestsException, requests=4, events=0, max_seconds=1.5,
        retryable=True, status=429),
    *(
        Row(f"{code}", _n(faults.status(code), 1), voucherify.ServiceException,
            requests=1, events=0, max_seconds=1.0, retryable=False, status=code)
        for code in (500, 502, 503, 504)
    ),
    Row("503-opted-in", _n(faults.status(503), 2), None, requests=3, events=1, max_seconds=1.0,
        options={"_retries": RetryPolicy(backoff_factor=0.05, retry_non_idempotent=True)}),
    Row("sleep-past-read-timeout", _n(faults.delay(1.2), 1), voucherify.ApiTimeoutException,
        requests=1, events=1, max_seconds=1.0, retryable=False),
    Row("trickled-body", _n(faults.trickle(chunk_size=1, interval=0.05), 1),
        voucherify.ApiTimeoutException, requests=1, events=1, min_seconds=0.5, max_seconds=1.2,
        retryable=False, options={"_deadline": 0.6}),
    Row("closed-between-calls", _n(faults.close_after_reply(), 2), None,
        requests=3, events=3, max_seconds=1.5, calls=3),
    Row("redirect-to-another-port",
        lambda other: [faults.redirect(other + "/v1/events", status=307)],
        voucherify.ApiException, requests=1, events=0, max_seconds=1.0, status=307),
    Row("non-json-200", _n(faults.raw(200, b"<html>oops</html>"), 1),
        voucherify.InvalidResponseException, requests=1, events=0, max_seconds=1.0, status=200),
    Row("non-json-502", _n(faults.raw(502, b"<html>Bad Gateway</html>"), 1),
        voucherify.ServiceException, requests=1, events=0, max_seconds=1.0, status=502),
    *TRANSPORT_ROWS,
]

TUNNEL_NAME = "api.voucherify.test"
"""The host the tunnelled rows call: not loopback, so it goes through the proxy, which sends
everything to the stand-in."""


def configuration_for(
    server: LocalVoucherify, host: Optional[str] = None
) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=host or server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    return configuration


@functools.lru_cache(maxsize=1)
def _authority() -> tuple[ssl.SSLContext, str]:
    """A server context with a certificate for the test names, and the CA bundle's path."""
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(TUNNEL_NAME, "127.0.0.1").configure_cert(context)
    with tempfile.NamedTemporaryFile(prefix="voucherify-ca-", suffix=".pem", delete=False) as f:
        f.write(ca.cert_pem.bytes())
    return context, f.name


@contextlib.contextmanager
def route(row: Row, server: LocalVoucherify) -> Iterator[voucherify.Configuration]:
    """The configuration that reaches ``server`` the row's way, with what is on that way
    (a proxy, a failing TLS port) running until the block ends."""
    if row.via is None:
        yield configuration_for(server)
        return
    way, _, mode = row.via.partition(":")
    context, bundle = _authority()
    if way == "tls":
        with FaultyTLSServer(mode) as port:
            configuration = configuration_for(server, host=port.url)
            configuration.ssl_ca_cert = bundle
            yield configuration
        return
    backend = urlsplit(server.url)
    assert backend.hostname is not None and backend.port is not None
    with FaultProxy((backend.hostname, backend.port), context, mode) as proxy:
        scheme = "https" if way == "proxy" else "http"
        configuration = configuration_for(server, host=f"{scheme}://{TUNNEL_NAME}")
        configuration.allow_insecure_http = scheme == "http"
        configuration.ssl_ca_cert = bundle
        configuration.proxy = proxy.url
        yield configuration


def prepare(row: Row, server: LocalVoucherify, other: LocalVoucherify) -> dict[str, Any]:
    """Queue the row's faults; return the options for each call."""
    for fault in row.inject(other.url):
        server.inject(fault, path="/v1/events")
    return {**OPTIONS, **row.options}


def check(
    row: Row,
    outcomes: list[Any],
    elapsed: float,
    server: LocalVoucherify,
    other: LocalVoucherify,
) -> None:
    """Assert what the row promises, given each call's result or exception."""
    last = outcomes[-1]
    if row.expect is None:
        assert all(isinstance(o, voucherify.models.EventsCreateResponseBody) for o in outcomes), (
            outcomes
        )
    else:
        assert type(last) is row.expect, repr(last)
        if row.status is not None:
            assert last.status == row.status
        if row.retryable is not None:
            assert last.retryable is row.retryable
        if isinstance(last, voucherify.ApiTransportException):
            assert last.request_sent is row.request_sent
    assert row.min_seconds <= elapsed <= row.max_seconds, elapsed
    _wait_for(lambda: len(server.events) >= row.events, 3.0)
    assert len(server.events) == row.events, "an event was recorded twice or lost"
    assert len([r for r in server.requests if r["path"] == "/v1/events"]) == row.requests
    assert other.requests == [], "nothing may follow a redirect to another origin"


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    # The server records a delayed event after the client has given up on it.
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
