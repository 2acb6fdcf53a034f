"""Where a reply ends: interim replies are skipped, and a connection whose reply did not end
where its framing said is closed, so that no call ever reads another call's reply.

Each test makes two calls on one client to a raw server that keeps the connection open:
the first reply is odd in some way (and may carry a forged extra reply after it), the second
is ordinary. The second call must get its own reply, never the first's leftovers.
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
import time
from typing import Any, Callable

import pytest

import voucherify
from voucherify import aio

from conftest import EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer

Script = Callable[[socket.socket, int], None]
"""What the server sends for request number ``n`` (1, 2...) on a connection."""


def body_for(customer_id: str) -> bytes:
    document = copy.deepcopy(EXAMPLE_RESPONSE)
    document["customer"]["id"] = customer_id
    return json.dumps(document).encode()


def reply(customer_id: str, *, extra_headers: bytes = b"") -> bytes:
    body = body_for(customer_id)
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n" + extra_headers + b"\r\n" + body
    )


FORGED = reply("cust_FORGED")
"""A complete reply no request asked for: if a call returns it, a reply went astray."""


class ScriptedServer(RawServer):
    """A keep-alive raw server whose replies follow a script, numbered across connections."""

    def __init__(self, script: Script) -> None:
        self.count = 0
        self._count_lock = threading.Lock()

        def behaviour(conn: socket.socket) -> None:
            with self._count_lock:
                self.count += 1
                n = self.count
            script(conn, n)

        super().__init__(behaviour, keep_alive=True)


def first_then_plain(first: Callable[[socket.socket], None]) -> Script:
    def script(conn: socket.socket, n: int) -> None:
        if n == 1:
            first(conn)
        else:
            conn.sendall(reply(f"cust_{n}"))

    return script


OPTIONS: dict[str, Any] = {"_retries": 0, "_request_timeout": (2.0, 1.0), "_deadline": 3.0}


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return call().customer.id
    except voucherify.ApiException as error:
        return error


def two_sync_calls(url: str) -> list[Any]:
    with voucherify.ApiClient(make_configuration(url)) as client:
        api = voucherify.EventsApi(client)
        return [
            outcome(lambda: api.track_custom_event(events_create_request_body=MINIMAL_BODY,
                                                   **OPTIONS))
            for _ in range(2)
        ]


def two_async_calls(url: str) -> list[Any]:
    async def run() -> list[Any]:
        results: list[Any] = []
        async with aio.ApiClient(make_configuration(url)) as client:
            api = aio.EventsApi(client)
            for _ in range(2):
                try:
                    result = await api.track_custom_event(
                        events_create_request_body=MINIMAL_BODY, **OPTIONS
                    )
                    results.append(result.customer.id)
                except voucherify.ApiException as error:
                    results.append(error)
        return results

    return asyncio.run(asyncio.wait_for(run(), 20))


CLIENTS = {"sync": two_sync_calls, "async": two_async_calls}


def interim_then(final: bytes) -> Callable[[socket.socket], None]:
    def first(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        time.sleep(0.02)
        conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.02)
        conn.sendall(final)

    return first


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_interim_replies_are_skipped_and_the_connection_kept(client: str) -> None:
    with ScriptedServer(first_then_plain(interim_then(reply("cust_1")))) as server:
        results = CLIENTS[client](server.url)
        connections = server.connections
    assert results == ["cust_1", "cust_2"]
    if client == "sync":
        assert connections == 1, "a reply that ended cleanly keeps its connection"


def chunked_reply(customer_id: str) -> bytes:
    body = body_for(customer_id)
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n" + b"%x\r\n" % len(body[:10]) + body[:10] + b"\r\n"
        + b"%x\r\n" % len(body[10:]) + body[10:] + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )


def test_clean_replies_keep_the_connection_chunked_or_not() -> None:
    def script(conn: socket.socket, n: int) -> None:
        conn.sendall(reply(f"cust_{n}") if n == 1 else chunked_reply(f"cust_{n}"))

    with ScriptedServer(script) as server:
        with voucherify.ApiClient(make_configuration(server.url)) as client:
            api = voucherify.EventsApi(client)
            ids = [api.track_custom_event(events_create_request_body=MINIMAL_BODY,
                                          **OPTIONS).customer.id for _ in range(3)]
            # urllib3 reads a streamed chunked body itself, not through http.client.
            raw = api.track_custom_event_without_preload_content(
                events_create_request_body=MINIMAL_BODY
            )
            streamed = b"".join(raw.stream())
            raw.release_conn()
            ids.append(json.loads(streamed)["customer"]["id"])
            ids.append(api.track_custom_event(events_create_request_body=MINIMAL_BODY,
                                              **OPTIONS).customer.id)
        connections = server.connections
    assert ids == ["cust_1", "cust_2", "cust_3", "cust_4", "cust_5"]
    assert connections == 1


UNPLACEABLE: dict[str, Callable[[socket.socket], None]] = {
    # More bytes than Content-Length said, in the same write as the reply.
    "body-longer-than-content-length": lambda conn: conn.sendall(reply("cust_1") + FORGED),
    # The same after a chunked body's last chunk.
    "bytes-after-the-last-chunk": lambda conn: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(body_for("cust_1")) + body_for("cust_1") + b"\r\n0\r\n\r\n" + FORGED
    ),
    # A 101 the SDK never asked for, then a reply: nothing says which request it answers.
    "unrequested-101": lambda conn: conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n" + FORGED
    ),
    # An interim reply with a body, which interim replies cannot have.
    "interim-reply-with-a-body": lambda conn: conn.sendall(
        b"HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\n\r\nhello" + FORGED
    ),
    # Cut short: the rest (and a forged reply) comes after the client gave up waiting.
    "reply-cut-short": lambda conn: (
        conn.sendall(reply("cust_1")[:-10]), time.sleep(1.5), conn.sendall(b"x" * 10 + FORGED)
    ),
    # No length and not chunked: the body runs to the end of the connection, forged reply too.
    "no-length-not-chunked": lambda conn: (
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
                     + body_for("cust_1") + FORGED),
        conn.shutdown(socket.SHUT_WR),
    ),
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("case", sorted(UNPLACEABLE))
def test_a_reply_that_does_not_end_cleanly_never_reaches_the_next_call(
    case: str, client: str
) -> None:
    with ScriptedServer(first_then_plain(UNPLACEABLE[case])) as server:
        results = CLIENTS[client](server.url)
        connections = server.connections
    assert "cust_FORGED" not in results, results
    assert results[1] == "cust_2", results
    assert connections == 2, "the first connection must not be used again"


def test_a_body_left_unread_closes_its_connection() -> None:
    # The caller of ..._without_preload_content hands the connection back without reading.
    with ScriptedServer(first_then_plain(lambda conn: conn.sendall(reply("cust_1")))) as server:
        with voucherify.ApiClient(make_configuration(server.url)) as client:
            api = voucherify.EventsApi(client)
            raw = api.track_custom_event_without_preload_content(
                events_create_request_body=MINIMAL_BODY
            )
            assert raw.status == 200
            raw.release_conn()
            second = api.track_custom_event(events_create_request_body=MINIMAL_BODY, **OPTIONS)
        connections = server.connections
    assert second.customer.id == "cust_2"
    assert connections == 2


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_an_unrequested_101_is_a_broken_reply_that_may_have_been_processed(client: str) -> None:
    with ScriptedServer(first_then_plain(UNPLACEABLE["unrequested-101"])) as server:
        first = CLIENTS[client](server.url)[0]
    assert isinstance(first, voucherify.ApiConnectionException), first
    assert first.request_sent is None
