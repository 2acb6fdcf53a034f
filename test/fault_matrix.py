"""The fault matrix, as data: each row a fault the stand-in injects and what must follow.

Shared by the sync test (test_fault_matrix.py) and the async one, so both clients are held to
the same outcomes: the result or exception class, how many requests reached the server, how
many events it recorded (never a duplicate where the policy forbids one), and the time taken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import voucherify
from voucherify.retry import RetryPolicy
from voucherify.testing import LocalVoucherify, faults

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


def _n(fault: faults.Fault, times: int) -> Callable[[str], list[faults.Fault]]:
    return lambda other: [fault] * times


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
]


def configuration_for(server: LocalVoucherify) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    return configuration


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
