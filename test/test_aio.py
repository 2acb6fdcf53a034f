"""voucherify.aio: the asyncio client against real servers on 127.0.0.1, next to the sync one.

The two clients share everything but I/O, so these tests check what the aiohttp transport
adds: the same bytes on the wire, the same exceptions for the same replies and failures, both
timeout forms and the deadline, cancellation that leaves the client usable, and no session
or connection left open. A fixture fails any test that leaks one.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from pytest_httpserver import HTTPServer

import voucherify
from voucherify import aio
from voucherify.models.client_events_create_response_body import ClientEventsCreateResponseBody
from voucherify.models.events_create_response_body import EventsCreateResponseBody
from voucherify.testing import LocalVoucherify, faults

import cases
from cases import FAST, SEED_BODY, assert_clean, free_port, send, wire
from conftest import (
    APP_ID,
    APP_TOKEN,
    EXAMPLE_RESPONSE,
    MINIMAL_BODY,
    make_configuration,
)
from rawserver import RawServer, close_without_reply, reset, stall, trickle


def leaks(caught: list[warnings.WarningMessage], unraisable: list[str]) -> list[str]:
    """What a test left open: resource warnings, "Unclosed ..." messages, unraisables."""
    found = [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if issubclass(w.category, ResourceWarning) or "unclosed" in str(w.message).lower()
    ]
    return found + unraisable


@pytest.fixture(autouse=True)
def no_unclosed_sessions() -> Iterator[None]:
    """Fail the test if it leaves a session, connector, response or socket unclosed.

    Autouse fixtures are set up before pytest-asyncio's event loop and torn down after it,
    so the final ``gc.collect()`` finds whatever the closed loop left behind.
    """
    unraisable: list[str] = []
    previous_hook = sys.unraisablehook

    def hook(info: Any) -> None:
        unraisable.append(f"unraisable {info.exc_type.__name__}: {info.exc_value!r}")
        previous_hook(info)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.unraisablehook = hook
        try:
            yield
            gc.collect()
        finally:
            sys.unraisablehook = previous_hook
    assert leaks(caught, unraisable) == []


@pytest.mark.asyncio
async def test_leak_guard_sees_a_client_that_was_not_closed(httpserver: HTTPServer) -> None:
    # The guard's positive control: an unclosed client is reported as the guard expects.
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    client = aio.ApiClient(make_configuration(httpserver.url_for("/")))
    await aio.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    session = client.rest_client._session
    assert session is not None
    connector = session.connector
    assert connector is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client, session
        gc.collect()
    await connector.close()  # what the forgotten close() would have done
    assert any("Unclosed client session" in line for line in leaks(caught, []))


# --- helpers ----------------------------------------------------------------------------


def local_configuration(server: LocalVoucherify) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    configuration.api_key["X-Client-Application-Id"] = server.client_app_id
    configuration.api_key["X-Client-Token"] = server.client_token
    return configuration


async def track(host: str, **options: Any) -> voucherify.ApiResponse[Any]:
    """One call through a fresh client, closed afterwards."""
    async with aio.ApiClient(make_configuration(host)) as client:
        return await aio.EventsApi(client).track_custom_event_with_http_info(
            events_create_request_body=MINIMAL_BODY, **options
        )


# --- 1. the seed example ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_seed_example_async(voucherify_server: LocalVoucherify) -> None:
    configuration = local_configuration(voucherify_server)
    async with aio.ApiClient(configuration) as api_client:
        api_instance = aio.EventsApi(api_client)
        api_response = await api_instance.track_custom_event(events_create_request_body=SEED_BODY)

    assert isinstance(api_response, EventsCreateResponseBody)
    assert api_response.object == "event"
    assert api_response.type == "event-name"
    assert api_response.customer.source_id == "referee-source_id"
    assert api_response.customer.id.startswith("cust_")
    events = voucherify_server.events
    assert len(events) == 1
    assert events[0]["event"] == "event-name"
    assert events[0]["endpoint"] == "/v1/events"
    assert events[0]["customer_id"] == api_response.customer.id


@pytest.mark.asyncio
async def test_seed_example_client_side_with_origin(voucherify_server: LocalVoucherify) -> None:
    configuration = local_configuration(voucherify_server)
    async with aio.ApiClient(configuration) as api_client:
        result = await aio.ClientSideApi(api_client).track_custom_event_client_side(
            "https://shop.example", client_events_create_request_body=SEED_BODY
        )
    assert isinstance(result, ClientEventsCreateResponseBody)
    assert result.type == "event-name"
    assert result.customer.source_id == "referee-source_id"
    (request,) = voucherify_server.requests
    assert request["path"] == "/client/v1/events"
    assert request["headers"]["origin"] == "https://shop.example"
    assert request["headers"]["x-client-token"] == voucherify_server.client_token
    assert "x-app-token" not in request["headers"]
    assert voucherify_server.events[0]["endpoint"] == "/client/v1/events"


def test_aio_names_are_the_async_classes() -> None:
    assert aio.EventsApi is not voucherify.EventsApi
    assert aio.ApiClient is not voucherify.ApiClient
    assert asyncio.iscoroutinefunction(aio.EventsApi.track_custom_event)
    assert asyncio.iscoroutinefunction(aio.ClientSideApi.track_custom_event_client_side)
    assert set(aio.__all__) == {"ApiClient", "ClientSideApi", "EventsApi"}


@pytest.mark.asyncio
async def test_api_without_a_client_uses_the_async_default(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    monkeypatch.setattr(aio.ApiClient, "_default", None, raising=False)
    monkeypatch.setattr(voucherify.ApiClient, "_default", None, raising=False)
    monkeypatch.setattr(
        voucherify.Configuration, "_default", make_configuration(httpserver.url_for("/"))
    )
    api = aio.EventsApi()
    assert type(api.api_client) is aio.ApiClient
    assert api.api_client is aio.ApiClient.get_default()
    assert aio.ClientSideApi().api_client is api.api_client
    assert voucherify.ApiClient.get_default() is not api.api_client
    try:
        result = await api.track_custom_event(events_create_request_body=MINIMAL_BODY)
    finally:
        await api.api_client.close()
    assert result.object == "event"
    assert len(httpserver.log) == 1


# --- 2. the same request as the sync client ---------------------------------------------

@pytest.mark.parametrize(("kind", "body", "options"), cases.WIRE)
@pytest.mark.asyncio
async def test_same_wire_request_as_the_sync_client(
    httpserver: HTTPServer, kind: str, body: Any, options: dict[str, Any]
) -> None:
    cases.expect_both_paths(httpserver)
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration, **cases.CLIENT_EXTRAS) as sync_client:
        send(voucherify, sync_client, kind, body, dict(options))
    async with aio.ApiClient(configuration, **cases.CLIENT_EXTRAS) as async_client:
        await send(aio, async_client, kind, body, dict(options))

    sync_method, sync_path, sync_headers, sync_body = wire(httpserver.log[0][0])
    async_method, async_path, async_headers, async_body = wire(httpserver.log[1][0])
    assert (async_method, async_path) == (sync_method, sync_path)
    assert async_body == sync_body
    # The one header that legitimately differs is the transport's own Accept-Encoding:
    # http.client sends "identity", aiohttp advertises the codings it can decode
    # ("gzip, deflate", more with brotli installed) and decodes the reply itself.
    assert sync_headers.pop("accept-encoding") == "identity"
    assert "gzip" in async_headers.pop("accept-encoding")
    assert async_headers == sync_headers
    cases.check_wire((async_method, async_path, async_headers, async_body), kind, body, options)


@pytest.mark.asyncio
async def test_user_agent_and_default_headers_set_on_the_client(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        client.user_agent = "my-app/1.0"
        client.set_default_header("X-Extra", "1")
        with pytest.raises(voucherify.ApiValueError):
            client.set_default_header("X-Bad", "a\r\nInjected: 1")
        await aio.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    headers = httpserver.log[0][0].headers
    assert headers["User-Agent"] == "my-app/1.0"
    assert headers["X-Extra"] == "1"
    assert "X-Bad" not in headers


# --- 3. _with_http_info and _without_preload_content ------------------------------------


@pytest.mark.asyncio
async def test_with_http_info_gives_status_headers_raw_attempts_rate_limit(
    httpserver: HTTPServer,
) -> None:
    raw = json.dumps(EXAMPLE_RESPONSE).encode()
    retry_at = int(time.time()) + 30
    httpserver.expect_request("/v1/events").respond_with_data(
        raw,
        status=200,
        headers={
            "X-Rate-Limit-Limit": "100",
            "X-Rate-Limit-Remaining": "42",
            "X-Rate-Limit-Retry": str(retry_at),
            "X-Request-Id": "v-123",
        },
        content_type="application/json",
    )
    response = await track(httpserver.url_for("/"))

    assert isinstance(response, voucherify.ApiResponse)
    assert response.status_code == 200
    assert response.headers["x-rate-limit-remaining"] == "42"
    assert response.headers["X-RATE-LIMIT-REMAINING"] == "42"
    assert response.headers["x-request-id"] == "v-123"
    assert response.raw_data == raw
    assert isinstance(response.data, EventsCreateResponseBody)
    assert response.data.customer.email == "john@voucherify.io"
    assert response.attempts == 1
    assert response.slept == 0.0
    rate_limit = response.rate_limit
    assert rate_limit is not None
    assert (rate_limit.limit, rate_limit.remaining, rate_limit.retry_at) == (100, 42, retry_at)
    assert rate_limit.retry_after is None and rate_limit.type is None


@pytest.mark.asyncio
async def test_with_http_info_without_rate_limit_headers(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/client/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        info = await aio.ClientSideApi(client).track_custom_event_client_side_with_http_info(
            "https://a.example", MINIMAL_BODY
        )
    assert info.status_code == 200
    assert isinstance(info.data, ClientEventsCreateResponseBody)
    assert info.rate_limit is None


@pytest.mark.asyncio
async def test_without_preload_content_returns_the_unread_aiohttp_response(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(
        {"code": 400, "key": "k"}, status=400, headers={"X-Request-Id": "v-9"}
    )
    async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        response = await aio.EventsApi(client).track_custom_event_without_preload_content(
            events_create_request_body=MINIMAL_BODY
        )
        # Whatever the status: no exception, no parsing, the body still to be read.
        assert isinstance(response, aiohttp.ClientResponse)
        async with response:
            assert response.status == 400
            assert response.headers["x-request-id"] == "v-9"
            assert not response.content.at_eof()
            assert json.loads(await response.read()) == {"code": 400, "key": "k"}
        assert response.closed
    assert len(httpserver.log) == 1


@pytest.mark.asyncio
async def test_socket_options_apply_to_the_connection() -> None:
    body = json.dumps(EXAMPLE_RESPONSE).encode()

    def head_then_body(conn: socket.socket) -> None:
        # The body comes late, so the unread response still holds its connection.
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        time.sleep(0.2)
        conn.sendall(body)

    priority_option = (socket.SOL_SOCKET, socket.SO_PRIORITY)
    with RawServer(head_then_body, keep_alive=True) as server:
        configuration = make_configuration(server.url)
        for options, priority in ((None, 0), ([(*priority_option, 3)], 3)):
            configuration.socket_options = options  # read when the client is made
            async with aio.ApiClient(configuration) as client:
                api = aio.EventsApi(client)
                response = await api.track_custom_event_without_preload_content(
                    events_create_request_body=MINIMAL_BODY
                )
                async with response:
                    assert response.connection is not None
                    transport = response.connection.transport
                    assert transport is not None
                    sock = transport.get_extra_info("socket")
                    assert sock.getsockopt(*priority_option) == priority
                    await response.read()


@pytest.mark.asyncio
async def test_client_side_without_preload_content(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/client/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        api = aio.ClientSideApi(client)
        response = await api.track_custom_event_client_side_without_preload_content(
            "https://a.example", MINIMAL_BODY
        )
        async with response:
            assert response.status == 200
            assert (await response.json())["type"] == "cart_abandoned"
    assert httpserver.log[0][0].headers["origin"] == "https://a.example"


@pytest.mark.asyncio
async def test_without_preload_content_is_sent_once_and_read_within_the_deadline() -> None:
    # The raw variant skips the attempt loop: one request, whatever the reply. Its body is
    # read by the caller, still under the call's deadline (aiohttp's total timeout).
    head = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 1000\r\n\r\n"
    with RawServer(trickle(head, interval=0.05, total_bytes=1000)) as server:
        async with aio.ApiClient(make_configuration(server.url)) as client:
            started = time.monotonic()
            response = await aio.EventsApi(client).track_custom_event_without_preload_content(
                events_create_request_body=MINIMAL_BODY, _deadline=0.5
            )
            assert response.status == 429
            with pytest.raises(asyncio.TimeoutError):
                async with response:
                    await response.read()
            elapsed = time.monotonic() - started
        assert server.requests == 1
    assert 0.45 <= elapsed < 1.0


@pytest.mark.asyncio
async def test_without_preload_content_validates_before_sending(httpserver: HTTPServer) -> None:
    async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        with pytest.raises(voucherify.ApiValueError, match="event: is required"):
            await aio.EventsApi(client).track_custom_event_without_preload_content(
                events_create_request_body={"customer": {"source_id": "c-1"}}
            )
    assert len(httpserver.log) == 0


# --- 4. errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "exc_class"), cases.STATUS_EXCEPTIONS)
@pytest.mark.asyncio
async def test_status_maps_to_the_same_exception_as_sync(
    httpserver: HTTPServer, status: int, exc_class: type
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(
        cases.error_body(status), status=status
    )
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration) as sync_client, pytest.raises(
        voucherify.ApiException
    ) as sync_info:
        voucherify.EventsApi(sync_client).track_custom_event(
            events_create_request_body=MINIMAL_BODY, _retries=0
        )
    async with aio.ApiClient(configuration) as client:
        with pytest.raises(voucherify.ApiException) as info:
            await aio.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, _retries=0
            )
    cases.check_status_error(info.value, status, exc_class)
    assert type(info.value) is type(sync_info.value)
    assert str(info.value) == str(sync_info.value)


@pytest.mark.asyncio
async def test_error_fields_are_parsed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(cases.INVALID_PAYLOAD, status=400)
    with pytest.raises(voucherify.BadRequestException) as info:
        await track(httpserver.url_for("/"))
    cases.check_error_fields(info.value)


@pytest.mark.parametrize(("payload", "problem"), cases.UNUSABLE_2XX)
@pytest.mark.asyncio
async def test_unusable_2xx_body_raises_invalid_response(
    httpserver: HTTPServer, payload: bytes, problem: str
) -> None:
    httpserver.expect_request("/v1/events").respond_with_data(
        payload, status=200, content_type="application/json"
    )
    with pytest.raises(voucherify.InvalidResponseException) as info:
        await track(httpserver.url_for("/"))
    cases.check_invalid_response(info.value, payload, problem)


@pytest.mark.asyncio
async def test_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_data(
        "", status=307, headers={"Location": "http://127.0.0.1:9/v1/events"}
    )
    with pytest.raises(voucherify.ApiException) as info:
        await track(httpserver.url_for("/"), _retries=0)
    assert info.value.status == 307
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(("kind", "body", "options"), cases.BAD_INPUT)
@pytest.mark.asyncio
async def test_bad_input_raises_as_sync_does_before_any_request(
    httpserver: HTTPServer, kind: str, body: Any, options: dict[str, Any]
) -> None:
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration) as sync_client, pytest.raises(
        voucherify.OpenApiException
    ) as sync_info:
        send(voucherify, sync_client, kind, body, dict(options))
    async with aio.ApiClient(configuration) as client:
        with pytest.raises(voucherify.OpenApiException) as info:
            await send(aio, client, kind, body, dict(options))
        # Refused before the transport was touched: no session was even opened.
        assert client.rest_client._session is None
    assert type(info.value) is type(sync_info.value)
    assert str(info.value) == str(sync_info.value)
    cases.check_refused(info.value, len(httpserver.log))


@pytest.mark.asyncio
async def test_plain_http_to_another_host_is_refused() -> None:
    configuration = make_configuration("http://api.voucherify.example")
    async with aio.ApiClient(configuration) as client:
        with pytest.raises(voucherify.ApiValueError, match="plain http"):
            await aio.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
        assert client.rest_client._session is None


@pytest.mark.asyncio
async def test_header_mutated_in_place_is_refused_without_echo(httpserver: HTTPServer) -> None:
    # default_headers is a plain dict; a value changed in place bypasses set_default_header.
    # The sync client turns http.client's refusal into ApiValueError (voucherify/rest.py);
    # the async one must do the same with aiohttp's.
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    configuration = make_configuration(httpserver.url_for("/"))
    with voucherify.ApiClient(configuration) as sync_client:
        sync_client.default_headers["X-Team"] = "SECRETISH\r\nInjected: 1"
        with pytest.raises(voucherify.ApiValueError):
            voucherify.EventsApi(sync_client).track_custom_event(
                events_create_request_body=MINIMAL_BODY
            )
    async with aio.ApiClient(configuration) as client:
        client.default_headers["X-Team"] = "SECRETISH\r\nInjected: 1"
        # Any exception is caught so that the assertion below can say which one it was.
        with pytest.raises(Exception) as info:
            await aio.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
    assert isinstance(info.value, voucherify.ApiValueError), repr(info.value)
    assert "SECRETISH" not in str(info.value)
    assert len(httpserver.log) == 0


# --- 5. transport failures --------------------------------------------------------------


@pytest.mark.asyncio
async def test_connection_refused_is_not_sent() -> None:
    with pytest.raises(voucherify.ApiConnectionException) as info:
        await track(f"http://127.0.0.1:{free_port()}", _retries=0)
    error = info.value
    assert type(error) is voucherify.ApiConnectionException
    assert error.request_sent is False
    assert error.retryable is True
    assert "not sent" in str(error)
    assert isinstance(error.__cause__, aiohttp.ClientConnectorError)
    assert_clean(error)


@pytest.mark.asyncio
async def test_read_timeout_on_post_is_not_retried() -> None:
    with RawServer(stall(3.0)) as server:
        started = time.monotonic()
        with pytest.raises(voucherify.ApiTimeoutException) as info:
            await track(server.url, _request_timeout=(1.0, 0.3), _retries=FAST)
        elapsed = time.monotonic() - started
    error = info.value
    assert error.request_sent is None
    assert error.retryable is False
    assert error.attempts == 1
    assert "may have been processed, so it was not sent again" in str(error)
    assert server.requests == 1, "the event may be recorded; it must not be sent twice"
    assert elapsed < 1.0
    assert_clean(error)


@pytest.mark.parametrize("behaviour", [close_without_reply, reset], ids=["closed", "reset"])
@pytest.mark.asyncio
async def test_connection_lost_after_sending_is_not_retried(behaviour: Any) -> None:
    with RawServer(behaviour) as server:
        with pytest.raises(voucherify.ApiConnectionException) as info:
            await track(server.url, _retries=FAST)
        assert server.requests == 1
    error = info.value
    assert type(error) is voucherify.ApiConnectionException
    assert error.request_sent is None
    assert error.retryable is False
    assert error.attempts == 1
    assert_clean(error)


@pytest.mark.asyncio
async def test_reply_reset_after_the_head_is_not_retried(
    voucherify_server: LocalVoucherify,
) -> None:
    voucherify_server.inject(faults.reset_after_head())
    async with aio.ApiClient(local_configuration(voucherify_server)) as client:
        with pytest.raises(voucherify.ApiConnectionException) as info:
            await aio.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, _retries=FAST
            )
    assert info.value.request_sent is None
    assert len(voucherify_server.requests) == 1
    assert len(voucherify_server.events) == 1  # recorded, though the client cannot know


@pytest.mark.asyncio
async def test_server_closing_keep_alive_between_calls_is_harmless() -> None:
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(
        body
    )

    def reply_then_close(conn: socket.socket) -> None:
        # Keep-alive promised, then the connection is closed while idle in the pool.
        conn.sendall(head + b"\r\n" + body)
        time.sleep(0.1)

    with RawServer(reply_then_close) as server:
        async with aio.ApiClient(make_configuration(server.url)) as client:
            api = aio.EventsApi(client)
            for _ in range(3):
                await api.track_custom_event(events_create_request_body=MINIMAL_BODY, _retries=0)
                await asyncio.sleep(0.2)
        assert server.requests == 3
        assert server.connections == 3


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> str:
    return cases.ca_bundle(ca, tmp_path)


@pytest.mark.asyncio
async def test_tls_untrusted_certificate_is_refused(tls_server: HTTPServer) -> None:
    url = tls_server.url_for("/")
    assert url.startswith("https://")
    with pytest.raises(voucherify.ApiSSLException) as info:
        await track(url, _retries=0)
    assert info.value.request_sent is False
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert len(tls_server.log) == 0
    assert_clean(info.value)


@pytest.mark.asyncio
async def test_tls_with_ca_bundle_succeeds(tls_server: HTTPServer, ca_bundle: str) -> None:
    configuration = make_configuration(tls_server.url_for("/"))
    configuration.ssl_ca_cert = ca_bundle
    async with aio.ApiClient(configuration) as client:
        result = await aio.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY
        )
    assert result.type == "cart_abandoned"
    assert tls_server.log[0][0].headers["X-App-Token"] == APP_TOKEN


@pytest.mark.asyncio
async def test_tls_verification_can_be_switched_off(tls_server: HTTPServer) -> None:
    configuration = make_configuration(tls_server.url_for("/"))
    configuration.verify_ssl = False
    async with aio.ApiClient(configuration) as client:
        result = await aio.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY
        )
    assert result.object == "event"
    assert len(tls_server.log) == 1


@pytest.mark.parametrize("setting", ["tls_server_name", "assert_hostname"])
@pytest.mark.asyncio
async def test_tls_name_settings_work_as_in_sync(
    ca: trustme.CA, ca_bundle: str, setting: str
) -> None:
    # The certificate names api.example only, and the client connects to 127.0.0.1: the
    # setting says which name to check it against, as documented in docs/configuration.md.
    server = cases.start_tls_server(ca, "api.example")
    try:
        configuration = make_configuration(server.url_for("/"))
        configuration.ssl_ca_cert = ca_bundle
        setattr(configuration, setting, "api.example")
        with voucherify.ApiClient(configuration) as sync_client:
            voucherify.EventsApi(sync_client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, _retries=0
            )
        async with aio.ApiClient(configuration) as client:
            result = await aio.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, _retries=0
            )
        assert result.object == "event"
        assert len(server.log) == 2
    finally:
        server.clear()
        server.stop()


@pytest.mark.asyncio
async def test_client_certificate_is_presented(
    ca: trustme.CA, ca_bundle: str, tmp_path: Path
) -> None:
    server = cases.start_tls_server(ca, "127.0.0.1", mutual=True)
    try:
        configuration = make_configuration(server.url_for("/"))
        configuration.ssl_ca_cert = ca_bundle
        configuration.cert_file, configuration.key_file = cases.client_certificate(ca, tmp_path)
        async with aio.ApiClient(configuration) as client:
            result = await aio.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY
            )
        assert result.object == "event"
        assert len(server.log) == 1
    finally:
        server.clear()
        server.stop()


# --- 6. timeouts and the deadline -------------------------------------------------------


@pytest.mark.parametrize("timeout", [2.5, (1.0, 5.0), None], ids=["number", "pair", "none"])
@pytest.mark.asyncio
async def test_both_timeout_forms_succeed_against_a_fast_server(
    httpserver: HTTPServer, timeout: Any
) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    response = await track(httpserver.url_for("/"), _request_timeout=timeout)
    assert response.status_code == 200
    assert response.data.type == "cart_abandoned"


@pytest.mark.parametrize("timeout", [0.3, (1.0, 0.3)], ids=["number", "pair"])
@pytest.mark.asyncio
async def test_both_timeout_forms_cut_a_stalling_server(timeout: Any) -> None:
    with RawServer(stall(3.0)) as server:
        started = time.monotonic()
        with pytest.raises(voucherify.ApiTimeoutException) as info:
            await track(server.url, _request_timeout=timeout)
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.0
    assert info.value.request_sent is None
    assert info.value.deadline_exceeded is False
    assert server.requests == 1


@pytest.mark.asyncio
async def test_configured_timeout_is_used() -> None:
    with RawServer(stall(3.0)) as server:
        configuration = make_configuration(server.url)
        configuration.timeout = (1.0, 0.3)
        started = time.monotonic()
        async with aio.ApiClient(configuration) as client:
            with pytest.raises(voucherify.ApiTimeoutException):
                await aio.EventsApi(client).track_custom_event(
                    events_create_request_body=MINIMAL_BODY
                )
        assert time.monotonic() - started < 1.0


@pytest.mark.asyncio
async def test_deadline_cuts_a_stalling_server() -> None:
    with RawServer(stall(3.0)) as server:
        started = time.monotonic()
        with pytest.raises(voucherify.ApiTimeoutException) as info:
            await track(server.url, _request_timeout=(1.0, 30.0), _deadline=0.5)
        elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.0
    assert info.value.deadline_exceeded is True
    assert "deadline" in str(info.value)
    assert info.value.request_sent is None


@pytest.mark.asyncio
async def test_deadline_cuts_a_trickling_reply(voucherify_server: LocalVoucherify) -> None:
    # A byte every 50 ms never trips a 30 s read timeout; only the deadline ends it.
    voucherify_server.inject(faults.trickle(chunk_size=1, interval=0.05))
    async with aio.ApiClient(local_configuration(voucherify_server)) as client:
        started = time.monotonic()
        with pytest.raises(voucherify.ApiTimeoutException) as info:
            await aio.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY,
                _request_timeout=(1.0, 30.0),
                _deadline=0.5,
            )
        elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.0
    assert info.value.deadline_exceeded is True
    assert info.value.request_sent is None
    assert len(voucherify_server.events) == 1  # processed: the outcome was unknown


@pytest.mark.asyncio
async def test_configured_deadline_is_used() -> None:
    with RawServer(stall(3.0)) as server:
        configuration = make_configuration(server.url)
        configuration.deadline = 0.4
        configuration.timeout = (1.0, 30.0)
        started = time.monotonic()
        async with aio.ApiClient(configuration) as client:
            with pytest.raises(voucherify.ApiTimeoutException) as info:
                await aio.EventsApi(client).track_custom_event(
                    events_create_request_body=MINIMAL_BODY
                )
        assert time.monotonic() - started < 0.9
    assert info.value.deadline_exceeded is True


# --- 7. cancellation --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wait_for_timeout_leaves_the_client_usable(
    voucherify_server: LocalVoucherify,
) -> None:
    voucherify_server.inject(faults.delay(1.0))
    async with aio.ApiClient(local_configuration(voucherify_server)) as client:
        api = aio.EventsApi(client)
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(
                api.track_custom_event(events_create_request_body=MINIMAL_BODY), 0.2
            )
        assert time.monotonic() - started < 0.6
        session = client.rest_client._session
        assert session is not None and not session.closed
        result = await api.track_custom_event(
            events_create_request_body={"event": "after", "customer": {"source_id": "c-2"}}
        )
        assert result.type == "after"
        assert client.rest_client._session is session


@pytest.mark.asyncio
async def test_task_cancelled_mid_call_leaves_the_client_usable(
    voucherify_server: LocalVoucherify,
) -> None:
    voucherify_server.inject(faults.delay(1.0))
    async with aio.ApiClient(local_configuration(voucherify_server)) as client:
        api = aio.EventsApi(client)
        task = asyncio.ensure_future(
            api.track_custom_event(events_create_request_body=MINIMAL_BODY)
        )
        await asyncio.sleep(0.2)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        result = await api.track_custom_event_with_http_info(
            events_create_request_body={"event": "after", "customer": {"source_id": "c-2"}}
        )
        assert result.status_code == 200 and result.data.type == "after"
        assert result.attempts == 1


@pytest.mark.asyncio
async def test_cancelling_during_a_retry_wait_sends_nothing_more(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/v1/events").respond_with_json(
        {"code": 429}, status=429, headers={"Retry-After": "0.5"}
    )
    httpserver.expect_ordered_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        task = asyncio.ensure_future(
            aio.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
        )
        await asyncio.sleep(0.2)
        assert len(httpserver.log) == 1  # the 429 came; the call waits to retry
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)
        assert len(httpserver.log) == 1
        result = await aio.EventsApi(client).track_custom_event(
            events_create_request_body=MINIMAL_BODY
        )
    assert result.object == "event"
    assert len(httpserver.log) == 2


# --- concurrency ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_concurrent_calls_through_one_client(voucherify_server: LocalVoucherify) -> None:
    limit = asyncio.Semaphore(8)

    async def one(api: aio.EventsApi, n: int) -> str:
        async with limit:
            result = await api.track_custom_event(
                events_create_request_body={"event": "e", "customer": {"source_id": f"u{n}"}}
            )
            return str(result.customer.source_id)

    async with aio.ApiClient(local_configuration(voucherify_server)) as client:
        api = aio.EventsApi(client)
        done = await asyncio.gather(*(one(api, n) for n in range(40)))
    assert done == [f"u{n}" for n in range(40)]
    recorded = sorted(event["body"]["customer"]["source_id"] for event in voucherify_server.events)
    assert recorded == sorted(f"u{n}" for n in range(40))


# --- 8. closing -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_async_with_closes_the_session(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
        assert client.rest_client._session is None  # opened on first use
        await aio.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)
        session = client.rest_client._session
        assert isinstance(session, aiohttp.ClientSession)
        assert not session.closed
    assert session.closed
    assert client.rest_client._session is None


@pytest.mark.asyncio
async def test_async_with_closes_the_session_when_the_call_fails(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json({"code": 500}, status=500)
    with pytest.raises(voucherify.ServiceException):
        async with aio.ApiClient(make_configuration(httpserver.url_for("/"))) as client:
            api = aio.EventsApi(client)
            try:
                await api.track_custom_event(events_create_request_body=MINIMAL_BODY)
            finally:
                session = client.rest_client._session
    assert session is not None and session.closed


@pytest.mark.asyncio
async def test_close_then_use_again(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    client = aio.ApiClient(make_configuration(httpserver.url_for("/")))
    api = aio.EventsApi(client)
    await api.track_custom_event(events_create_request_body=MINIMAL_BODY)
    first = client.rest_client._session
    await client.close()
    assert first is not None and first.closed
    # A closed client opens a new session when used again.
    result = await api.track_custom_event(events_create_request_body=MINIMAL_BODY)
    assert result.object == "event"
    second = client.rest_client._session
    assert second is not None and second is not first and not second.closed
    await client.close()
    await client.close()  # closing twice is harmless
    assert second.closed
    assert len(httpserver.log) == 2


@pytest.mark.asyncio
async def test_closing_an_unused_client_is_harmless() -> None:
    client = aio.ApiClient(make_configuration("http://127.0.0.1:9"))
    await client.close()
    async with aio.ApiClient(make_configuration("http://127.0.0.1:9")):
        pass
    assert client.rest_client._session is None


# --- 9. retries and logging -------------------------------------------------------------


@pytest.mark.parametrize("case", cases.RETRIES, ids=[case.id for case in cases.RETRIES])
@pytest.mark.asyncio
async def test_retry_case(httpserver: HTTPServer, case: cases.RetryCase) -> None:
    host = cases.host_for(case, httpserver)
    started = time.monotonic()
    try:
        outcome: Any = await track(host, **case.options)
    except voucherify.ApiException as error:
        outcome = error
    case.check(outcome, time.monotonic() - started, len(httpserver.log))


@pytest.mark.asyncio
async def test_debug_logs_each_attempt_with_keys_masked(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_ordered_request("/v1/events").respond_with_json(
        {"code": 429}, status=429, headers={"Retry-After": "0", "X-Request-Id": "v-77"}
    )
    httpserver.expect_ordered_request("/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    levels = (logging.getLogger().level, logging.getLogger("voucherify").level)
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.debug = True
    async with aio.ApiClient(configuration) as client:
        await aio.EventsApi(client).track_custom_event(events_create_request_body=MINIMAL_BODY)

    assert (logging.getLogger().level, logging.getLogger("voucherify").level) == levels
    records = [r for r in caplog.records if r.name == "voucherify"]
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert len(info) == 2 and len(debug) == 2
    assert "POST" in info[0] and "/v1/events -> 429 attempt=1" in info[0]
    assert "request_id=v-77" in info[0] and "retry in 0.00s" in info[0]
    assert "-> 200 attempt=2" in info[1] and info[1].endswith("final")
    for line in (*info, *debug):
        assert APP_TOKEN not in line
        assert APP_ID not in line
    assert "'X-App-Token': '***'" in debug[0]
    assert "'X-App-Id': 'app-***'" in debug[0]


@pytest.mark.asyncio
async def test_silent_by_default_and_failures_logged_with_their_class(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(voucherify.ApiConnectionException):
        await track(f"http://127.0.0.1:{free_port()}", _retries=0)
    assert [r for r in caplog.records if r.name == "voucherify"] == []

    configuration = make_configuration(f"http://127.0.0.1:{free_port()}")
    configuration.debug = True
    async with aio.ApiClient(configuration) as client:
        with pytest.raises(voucherify.ApiConnectionException):
            await aio.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, _retries=0
            )
    info = [
        r.getMessage()
        for r in caplog.records
        if r.name == "voucherify" and r.levelno == logging.INFO
    ]
    assert len(info) == 1 and "-> ApiConnectionException attempt=1" in info[0]


# --- 10. imports ------------------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_import_voucherify_loads_neither_aio_nor_aiohttp() -> None:
    done = run_python(
        """
        import json, sys
        import voucherify
        voucherify.EventsApi(voucherify.ApiClient(voucherify.Configuration()))
        before = sorted(sys.modules)
        from voucherify import aio
        after_package = sorted(sys.modules)
        aio.ApiClient
        after_name = sorted(sys.modules)
        print(json.dumps([before, after_package, after_name]))
        """
    )
    assert done.returncode == 0, done.stderr
    before, after_package, after_name = (set(m) for m in json.loads(done.stdout))
    assert not any(m == "voucherify.aio" or m.startswith("voucherify.aio.") for m in before)
    assert not any(m == "aiohttp" or m.startswith("aiohttp.") for m in before)
    # The package alone loads nothing heavy either; a name loads aiohttp.
    assert "aiohttp" not in after_package
    assert "aiohttp" in after_name


@pytest.mark.parametrize("name", ["ApiClient", "EventsApi", "ClientSideApi"])
def test_missing_aiohttp_says_how_to_install_it(name: str) -> None:
    done = run_python(
        f"""
        import sys
        sys.modules["aiohttp"] = None  # as if aiohttp were not installed
        import voucherify
        from voucherify import aio
        try:
            aio.{name}
        except ImportError as error:
            print("ImportError:", error)
        else:
            print("no error")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ImportError:")
    assert 'pip install "voucherify-events[async]"' in done.stdout


# --- the async client from a plain script -----------------------------------------------


def test_asyncio_run_script_against_the_local_stand_in() -> None:
    # What docs/async.md shows: asyncio.run() in a fresh process, with nothing left open.
    done = run_python(
        """
        import asyncio, warnings
        warnings.simplefilter("error", ResourceWarning)
        import voucherify
        from voucherify import aio
        from voucherify.testing import LocalVoucherify

        async def main(server):
            configuration = voucherify.Configuration(host=server.url)
            configuration.api_key["X-App-Id"] = server.app_id
            configuration.api_key["X-App-Token"] = server.app_token
            async with aio.ApiClient(configuration) as api_client:
                event = await aio.EventsApi(api_client).track_custom_event(
                    events_create_request_body={"event": "e", "customer": {"source_id": "u"}})
            return event.customer.id

        with LocalVoucherify() as server:
            print(asyncio.run(main(server)), len(server.events))
        """
    )
    assert done.returncode == 0, done.stderr
    customer_id, count = done.stdout.split()
    assert customer_id.startswith("cust_") and count == "1"
    assert "Unclosed" not in done.stderr and "ResourceWarning" not in done.stderr
