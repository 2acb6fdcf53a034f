"""The ``..._without_preload_content`` variants honour the call's deadline in both clients.

They return the reply unread, and the caller reads the body later; the deadline
(``_deadline`` or ``configuration.deadline``, counted from the start of the call) still cuts
off every read, so a server that trickles its reply cannot hold the caller for ever.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import pytest
import urllib3

import voucherify
from voucherify import aio

from conftest import MINIMAL_BODY, make_configuration
from rawserver import RawServer, stall, trickle

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
# Trickled in full, the body takes 20 s: far past the 1 s deadline, well within the test's
# bounds, and each byte comes long before the 30 s read timeout.
TRICKLE = trickle(HEAD, interval=0.2, total_bytes=100)

Raw = Callable[[voucherify.ApiClient, dict[str, Any]], Any]


def events_raw(client: voucherify.ApiClient, options: dict[str, Any]) -> Any:
    return voucherify.EventsApi(client).track_custom_event_without_preload_content(
        events_create_request_body=MINIMAL_BODY, **options
    )


def client_side_raw(client: voucherify.ApiClient, options: dict[str, Any]) -> Any:
    return voucherify.ClientSideApi(
        client
    ).track_custom_event_client_side_without_preload_content(
        "https://shop.example", client_events_create_request_body=MINIMAL_BODY, **options
    )


@pytest.mark.parametrize("call", [events_raw, client_side_raw])
@pytest.mark.parametrize("where", ["option", "configuration"])
def test_a_trickled_body_read_later_stops_at_the_deadline(call: Raw, where: str) -> None:
    with RawServer(TRICKLE) as server:
        configuration = make_configuration(server.url)
        options: dict[str, Any] = {}
        if where == "option":
            options["_deadline"] = 1.0
        else:
            configuration.deadline = 1.0
        with voucherify.ApiClient(configuration) as client:
            started = time.monotonic()
            response = call(client, options)
            assert response.status == 200
            with pytest.raises(urllib3.exceptions.ReadTimeoutError):
                response.read()
            elapsed = time.monotonic() - started
            response.release_conn()
        assert server.requests == 1
    assert elapsed < 10  # the whole body would take 20 s


def test_waiting_for_the_status_line_stops_at_the_deadline() -> None:
    with RawServer(stall(15)) as server, voucherify.ApiClient(
        make_configuration(server.url)
    ) as client:
        started = time.monotonic()
        with pytest.raises(voucherify.ApiTimeoutException) as caught:
            events_raw(client, {"_deadline": 1.0})
        elapsed = time.monotonic() - started
    assert caught.value.request_sent is None
    assert elapsed < 10  # the server stays silent for 15 s, the read timeout is 30 s


def test_a_body_read_within_the_deadline_is_whole() -> None:
    body = b'{"object":"event"}'
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )

    def behaviour(conn: Any) -> None:
        conn.sendall(head + body)

    with RawServer(behaviour) as server, voucherify.ApiClient(
        make_configuration(server.url)
    ) as client:
        response = events_raw(client, {"_deadline": 30})
        assert response.read() == body
        response.release_conn()


def test_the_async_raw_reply_is_read_under_the_deadline_too() -> None:
    # The same statement for voucherify.aio (aiohttp's total timeout): docs/async.md.
    async def main() -> float:
        async with aio.ApiClient(make_configuration(server.url)) as client:
            started = time.monotonic()
            response = await aio.EventsApi(client).track_custom_event_without_preload_content(
                events_create_request_body=MINIMAL_BODY, _deadline=1.0
            )
            with pytest.raises(asyncio.TimeoutError):
                async with response:
                    await response.read()
            return time.monotonic() - started

    with RawServer(TRICKLE) as server:
        elapsed = asyncio.run(main())
        assert server.requests == 1
    assert elapsed < 10
