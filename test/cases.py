"""Cases both clients are held to, as data with the checks they must pass.

The sync tests (test_errors.py, test_retries.py, test_wire.py, test_validation.py) and the
asyncio ones (test_aio.py) drive each table through their own client and hand the outcome
to the same check, so both clients answer the same replies, retry the same way, send the
same bytes and refuse the same input. fault_matrix.py does the same for injected faults.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import trustme
from pytest_httpserver import HTTPServer

import voucherify
from voucherify import exceptions as exc
from voucherify.models.error import Error
from voucherify.rest import ApiException as RestApiException
from voucherify.retry import RetryPolicy

from conftest import APP_ID, APP_TOKEN, CLIENT_ID, CLIENT_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY

FAST = RetryPolicy(total=3, backoff_factor=0.05, backoff_jitter=0.0)

# The official docs' example body.
SEED_BODY: dict[str, Any] = {
    "event": "event-name",
    "customer": {"source_id": "referee-source_id"},
    "referral": {"code": "voucher-code", "referrer_id": "referrer-source_id"},
}

INVALID_PAYLOAD = {
    "code": 400,
    "key": "invalid_payload",
    "message": "Invalid payload",
    "details": "Property .referral should have required property 'code'",
    "request_id": "v-0c15694e0e022146dd",
}


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (free when asked)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_clean(error: BaseException) -> None:
    """An SDK exception, not a transport's, and no key anywhere in its rendered chain."""
    assert isinstance(error, voucherify.ApiException)
    assert type(error).__module__ == "voucherify.exceptions"
    rendered = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert APP_TOKEN not in rendered


# --- replies other than a usable 2xx ----------------------------------------------------

STATUS_EXCEPTIONS = [
    (400, exc.BadRequestException),
    (401, exc.UnauthorizedException),
    (402, exc.ApiException),
    (403, exc.ForbiddenException),
    (404, exc.NotFoundException),
    (409, exc.ConflictException),
    (413, exc.ApiException),
    (422, exc.UnprocessableEntityException),
    (429, exc.TooManyRequestsException),
    (500, exc.ServiceException),
    (502, exc.ServiceException),
    (503, exc.ServiceException),
    (504, exc.ServiceException),
]
"""A status and the exception class it raises; the reply's body is :func:`error_body`."""


def error_body(status: int) -> dict[str, Any]:
    return {"code": status, "key": f"key_{status}", "message": "m", "request_id": "v-1"}


def check_status_error(error: BaseException, status: int, exc_class: type) -> None:
    """What a call with ``_retries=0`` raises for ``status`` with :func:`error_body`."""
    assert type(error) is exc_class
    assert isinstance(error, voucherify.ApiException)
    assert isinstance(error, RestApiException)
    assert error.status == status
    assert error.key == f"key_{status}"
    assert error.request_id == "v-1"
    assert json.loads(error.body or "") == error_body(status)
    assert error.headers is not None and error.headers["content-type"] == "application/json"
    assert error.attempts == 1
    assert error.retryable is (status == 429)


def check_error_fields(error: BaseException) -> None:
    """What a 400 with :data:`INVALID_PAYLOAD` raises: every field reachable, one-line str."""
    assert isinstance(error, voucherify.BadRequestException)
    assert isinstance(error.data, Error)
    assert error.code == 400
    assert error.key == "invalid_payload"
    assert error.message == "Invalid payload"
    assert error.details == INVALID_PAYLOAD["details"]
    assert error.request_id == "v-0c15694e0e022146dd"
    assert error.reason == "BAD REQUEST"
    text = str(error)
    assert "\n" not in text
    for part in ("400", "invalid_payload", "Invalid payload", "required property", "v-0c15694e"):
        assert part in text
    assert_clean(error)


UNUSABLE_2XX = [
    (b"<html>ok</html>", "not JSON"),
    (b"", "empty body"),
    (b'{"object": "event", "type": "x"}', "customer: is required"),
    (b'{"object": "event", "type": "x", "customer": {"object": "customer"}}',
     "customer.id: is required"),
    (b'"just a string"', "must be an object"),
]
"""A 200 body (sent as JSON) the response model cannot be built from, and the problem named."""


def check_invalid_response(error: BaseException, payload: bytes, problem: str) -> None:
    assert isinstance(error, voucherify.InvalidResponseException)
    assert isinstance(error, voucherify.ApiException)
    assert error.status == 200
    assert error.body == payload.decode()
    assert error.headers is not None
    assert problem in str(error)
    # Nothing from pydantic or json leaks as the exception or its visible cause.
    assert error.__cause__ is None and error.__suppress_context__


# --- retries and waits ------------------------------------------------------------------

Replies = list[tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class RetryCase:
    """Replies queued one per request, the call's options, and what must follow."""

    id: str
    replies: Callable[[], Replies]
    """Built when the case runs, so that a header may name a time from now."""
    check: Callable[[Any, float, int], None]
    """Given the outcome (response or exception), the seconds taken, the requests received."""
    options: dict[str, Any] = field(default_factory=dict)
    refused: bool = False
    """Call a port nothing listens on instead of the server."""


def host_for(case: RetryCase, httpserver: HTTPServer) -> str:
    """Queue ``case``'s replies; the host to call."""
    if case.refused:
        return f"http://127.0.0.1:{free_port()}"
    respond(httpserver, case.replies())
    return httpserver.url_for("/")


def respond(httpserver: HTTPServer, replies: Replies) -> None:
    """Queue one reply per request, in order: (status, headers)."""
    for status, headers in replies:
        body = EXAMPLE_RESPONSE if status == 200 else {"code": status, "key": f"k{status}"}
        httpserver.expect_ordered_request("/v1/events").respond_with_json(
            body, status=status, headers=headers
        )


def _retried_after_retry_after(outcome: Any, elapsed: float, requests: int) -> None:
    assert outcome.status_code == 200
    assert outcome.attempts == 2
    assert 1.0 <= outcome.slept < 1.5
    assert 1.0 <= elapsed < 2.5
    assert requests == 2


def _waited_until_rate_limit_retry(outcome: Any, elapsed: float, requests: int) -> None:
    assert outcome.attempts == 2
    assert 0.5 <= outcome.slept <= 1.2


def _raised_at_once(outcome: Any, elapsed: float, requests: int) -> None:
    assert isinstance(outcome, voucherify.TooManyRequestsException)
    assert elapsed < 1.0  # 120 s is beyond max_wait: raised without waiting
    assert outcome.attempts == 1
    assert outcome.retryable is True
    assert outcome.retry_after == 120
    assert outcome.rate_limit is not None and outcome.rate_limit.type == "project"
    assert requests == 1


def _retries_ran_out(outcome: Any, elapsed: float, requests: int) -> None:
    assert isinstance(outcome, voucherify.TooManyRequestsException)
    assert outcome.attempts == 4
    assert requests == 4
    assert "after 4 attempts" in str(outcome)


def _not_retried(outcome: Any, elapsed: float, requests: int) -> None:
    assert isinstance(outcome, voucherify.ServiceException)
    assert outcome.attempts == 1
    assert outcome.retryable is False
    assert requests == 1


def _retried_when_opted_in(outcome: Any, elapsed: float, requests: int) -> None:
    assert outcome.status_code == 200
    assert outcome.attempts == 3
    assert requests == 3


def _refused_retried_with_backoff(outcome: Any, elapsed: float, requests: int) -> None:
    assert isinstance(outcome, voucherify.ApiConnectionException)
    assert outcome.attempts == 4
    assert outcome.request_sent is False
    assert outcome.retryable is True
    # urllib3's backoff: none before the first retry, then factor * 2 ** (n - 1).
    assert outcome.slept == pytest.approx(0.05 * 2 + 0.05 * 4, abs=0.01)
    assert elapsed < 2.0


def _deadline_stopped_the_wait(outcome: Any, elapsed: float, requests: int) -> None:
    assert isinstance(outcome, voucherify.TooManyRequestsException)
    assert elapsed < 0.8
    assert outcome.attempts == 1
    assert outcome.retry_after == 2
    assert requests == 1


RETRIES = [
    RetryCase("429-retried-after-retry-after",
              lambda: [(429, {"Retry-After": "1"}), (200, {})], _retried_after_retry_after),
    RetryCase("429-waits-until-x-rate-limit-retry",
              lambda: [(429, {"X-Rate-Limit-Retry": str(time.time() + 1.0)}), (200, {})],
              _waited_until_rate_limit_retry),
    RetryCase("429-beyond-max-wait-raised-at-once",
              lambda: [(429, {"Retry-After": "120", "X-Rate-Limit-Type": "project"})],
              _raised_at_once),
    RetryCase("429-until-retries-run-out", lambda: [(429, {"Retry-After": "0"})] * 4,
              _retries_ran_out, {"_retries": FAST}),
    *[
        RetryCase(f"{status}-on-post-not-retried-by-default",
                  lambda status=status: [(status, {}), (200, {})], _not_retried)
        for status in (500, 502, 503, 504)
    ],
    RetryCase("5xx-on-post-retried-when-opted-in", lambda: [(503, {}), (502, {}), (200, {})],
              _retried_when_opted_in,
              {"_retries": RetryPolicy(total=3, backoff_factor=0.05, retry_non_idempotent=True)}),
    RetryCase("refused-connection-retried-with-backoff", list, _refused_retried_with_backoff,
              {"_retries": FAST}, refused=True),
    RetryCase("deadline-stops-waiting-for-a-retry",
              lambda: [(429, {"Retry-After": "2"}), (200, {})], _deadline_stopped_the_wait,
              {"_deadline": 1.0}),
]


# --- the request on the wire ------------------------------------------------------------

RICH_BODY: dict[str, Any] = {
    "event": "order_paid",
    "customer": {"source_id": "c-1", "birthdate": date(1990, 5, 17), "future_field": [1, 2]},
    "metadata": {
        "at": datetime(2022, 12, 1, 9, 24, 33, 61000, tzinfo=timezone(timedelta(hours=2))),
        "text": "ünïcødé ✓",
        "big": 10**20,
        "n": 1.5,
        "none": None,
    },
    "loyalty": {"code": "L-1"},
}

CLIENT_EXTRAS = {"header_name": "X-Team", "header_value": "growth",
                 "cookie": "session=abc; theme=d"}
"""The ``ApiClient`` arguments the wire cases are sent with."""

WIRE = [
    pytest.param("events", SEED_BODY, {}, id="events-seed"),
    pytest.param("client_side", MINIMAL_BODY, {"origin": "https://shop.example"},
                 id="client-side"),
    pytest.param(
        "events",
        RICH_BODY,
        {
            "_headers": {"X-Voucherify-API-Version": "v2018-08-01"},
            "_content_type": "application/json; charset=utf-8",
        },
        id="events-rich-body-and-options",
    ),
    pytest.param(
        "events",
        MINIMAL_BODY,
        {"_request_auth": {"in": "header", "key": "X-App-Token", "value": "other"}},
        id="events-request-auth",
    ),
]
"""``(kind, body, options)``: what :func:`send` sends, and :func:`check_wire` checks."""


def send(module: Any, client: Any, kind: str, body: Any, options: dict[str, Any]) -> Any:
    """Call ``kind`` through ``module`` (voucherify or voucherify.aio); a coroutine for aio."""
    if kind == "events":
        return module.EventsApi(client).track_custom_event(
            events_create_request_body=body, **options
        )
    return module.ClientSideApi(client).track_custom_event_client_side(
        options.pop("origin", None), body, **options
    )


def expect_both_paths(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events", method="POST").respond_with_json(EXAMPLE_RESPONSE)
    httpserver.expect_request("/client/v1/events", method="POST").respond_with_json(
        EXAMPLE_RESPONSE
    )


def wire(request: Any) -> tuple[str, str, dict[str, str], bytes]:
    """Method, path, headers (lower-case names) and body of a request pytest-httpserver got."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    return request.method, request.path, headers, request.get_data()


def check_wire(
    request: tuple[str, str, dict[str, str], bytes],
    kind: str,
    body: Any,
    options: dict[str, Any],
) -> None:
    """A wire case's request, its transport's own ``accept-encoding`` already taken out."""
    method, path, headers, sent_body = request
    expected_path = "/v1/events" if kind == "events" else "/client/v1/events"
    assert path == expected_path and method == "POST"
    assert headers["content-type"] == options.get("_content_type", "application/json")
    assert headers["accept"] == "application/json"
    assert headers["x-voucherify-channel"] == "Python-SDK"
    assert headers["user-agent"].startswith(f"voucherify-python/{voucherify.__version__}")
    assert headers["x-team"] == "growth"
    assert headers["cookie"] == "session=abc; theme=d"
    if kind == "events":
        assert headers["x-app-token"] == options.get("_request_auth", {}).get(
            "value", APP_TOKEN
        )
        assert "x-client-token" not in headers
    else:
        assert headers["origin"] == "https://shop.example"
        assert headers["x-client-application-id"] == CLIENT_ID
        assert headers["x-client-token"] == CLIENT_TOKEN
        assert "x-app-token" not in headers
    if "_request_auth" not in options and kind == "events":
        assert headers["x-app-id"] == APP_ID
    sent = json.loads(sent_body)
    assert sent["event"] == body["event"]


# --- input refused before any request ---------------------------------------------------

BAD_INPUT = [
    pytest.param("events", None, {}, id="body-missing"),
    pytest.param("events", {"customer": {"source_id": "c-1"}}, {}, id="event-missing"),
    pytest.param("events", {**MINIMAL_BODY, "metadata": {"n": float("nan")}}, {}, id="nan"),
    pytest.param(
        "events",
        {"event": "e", "customer": {"source_id": "c-1", "birthdate": "2001-02-30"}},
        {},
        id="bad-birthdate",
    ),
    pytest.param("events", [1, 2], {}, id="body-not-an-object"),
    pytest.param("events", MINIMAL_BODY, {"_headers": {"X-Team": "a\r\nInjected: 1"}},
                 id="header-crlf"),
    pytest.param("events", MINIMAL_BODY, {"_content_type": "text/plain"}, id="content-type"),
    pytest.param("events", MINIMAL_BODY, {"_request_timeout": -1}, id="timeout-negative"),
    pytest.param("events", MINIMAL_BODY, {"_deadline": 0}, id="deadline-zero"),
    pytest.param("events", MINIMAL_BODY, {"_retries": "3"}, id="retries-string"),
    pytest.param("events", MINIMAL_BODY, {"_bogus": 1}, id="unknown-option"),
    pytest.param("client_side", MINIMAL_BODY, {}, id="origin-missing"),
]
"""``(kind, body, options)`` that :func:`send` must refuse before sending anything."""


def check_refused(error: BaseException, requests: int) -> None:
    assert isinstance(error, (voucherify.ApiValueError, voucherify.ApiTypeError))
    assert "Injected" not in str(error)
    assert APP_TOKEN not in str(error)
    assert requests == 0


# --- TLS --------------------------------------------------------------------------------


def start_tls_server(ca: trustme.CA, *names: str, mutual: bool = False) -> HTTPServer:
    """A started HTTPS server on 127.0.0.1 whose certificate ``ca`` issued for ``names``.

    With ``mutual``, it refuses a client that presents no certificate ``ca`` issued.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(context)
    if mutual:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    server.start()
    return server


def ca_bundle(ca: trustme.CA, folder: Path) -> str:
    """``ca``'s certificate written to a file in ``folder``: its path."""
    bundle = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return str(bundle)


def client_certificate(ca: trustme.CA, folder: Path) -> tuple[str, str]:
    """A client certificate ``ca`` issued, written to ``folder``: ``(cert_file, key_file)``."""
    client_cert = ca.issue_cert("client.example")
    cert_file, key_file = folder / "client.pem", folder / "client.key"
    client_cert.cert_chain_pems[0].write_to_path(str(cert_file))
    client_cert.private_key_pem.write_to_path(str(key_file))
    return str(cert_file), str(key_file)
