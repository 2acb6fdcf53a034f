"""The sync transport reads a body whose ``Content-Length`` bounds it in one read.

Only a reply with a valid length within the limit, no ``Transfer-Encoding`` and nothing to
decode takes that path; everything else streams. Either way the same rules hold: the limit,
the call's deadline on every receive, a short body is a broken reply, and a connection whose
reply ended cleanly is reused.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

import voucherify

from conftest import EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer, trickle

MiB = 1024 * 1024
BODY = json.dumps(EXAMPLE_RESPONSE).encode()


def track(configuration: voucherify.Configuration, calls: int = 1, **options: Any) -> list[Any]:
    with voucherify.ApiClient(configuration) as client:
        api = voucherify.EventsApi(client)
        return [
            api.track_custom_event(events_create_request_body=MINIMAL_BODY, **options)
            for _ in range(calls)
        ]


def raised(configuration: voucherify.Configuration, **options: Any) -> BaseException:
    with pytest.raises(voucherify.ApiException) as caught:
        track(configuration, **options)
    return caught.value


def head(*lines: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"".join(
        line + b"\r\n" for line in lines
    ) + b"\r\n"


@pytest.mark.parametrize(
    "encoding", [b"", b"Content-Encoding: identity", b"Content-Encoding: IDENTITY "]
)
def test_a_declared_plain_body_is_read_whole_and_its_connection_reused(encoding: bytes) -> None:
    lines = [b"Content-Length: " + str(len(BODY)).encode()] + ([encoding] if encoding else [])

    def behaviour(conn: socket.socket) -> None:
        conn.sendall(head(*lines) + BODY)

    with RawServer(behaviour, keep_alive=True) as server:
        replies = track(make_configuration(server.url), calls=3)
        assert [reply.type for reply in replies] == ["cart_abandoned"] * 3
        assert server.requests == 3
        assert server.connections == 1


def chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n"


def test_chunked_framing_wins_over_a_declared_length() -> None:
    def behaviour(conn: socket.socket) -> None:
        conn.sendall(head(b"Content-Length: 2", b"Transfer-Encoding: chunked")
                     + chunked(BODY) + b"0\r\n\r\n")

    with RawServer(behaviour) as server:
        assert track(make_configuration(server.url))[0].type == "cart_abandoned"


def test_an_endless_chunked_body_with_a_small_declared_length_is_cut_at_the_limit() -> None:
    # Read at once, as its Content-Length alone suggests, the body would be read until the
    # deadline (a timeout); counted chunk by chunk it passes the limit in a fraction of it.
    def behaviour(conn: socket.socket) -> None:
        conn.sendall(head(b"Content-Length: 2", b"Transfer-Encoding: chunked"))
        part = chunked(b"x" * 65536)
        try:
            for _ in range(2000):
                conn.sendall(part)
                time.sleep(0.005)
        except OSError:
            return

    with RawServer(behaviour) as server:
        configuration = make_configuration(server.url)
        configuration.max_response_bytes = MiB
        error = raised(configuration, _deadline=5.0, _retries=0)
    assert isinstance(error, voucherify.ApiResponseTooLargeException), repr(error)


def test_a_body_shorter_than_its_length_is_a_broken_reply() -> None:
    def behaviour(conn: socket.socket) -> None:
        conn.sendall(head(b"Content-Length: 1000", b"Connection: close") + BODY[:10])

    with RawServer(behaviour) as server:
        error = raised(make_configuration(server.url))
    assert isinstance(error, voucherify.ApiTransportException), repr(error)
    assert not isinstance(error, voucherify.ApiResponseTooLargeException)
    assert error.request_sent is not False  # the server had the request


def test_the_deadline_cuts_a_trickled_body_of_declared_length() -> None:
    behaviour = trickle(head(b"Content-Length: 1000"), interval=0.05, total_bytes=1000)
    with RawServer(behaviour) as server:
        # Unbounded, the body would take 50 s; the deadline ends the one read long before.
        error = raised(make_configuration(server.url), _deadline=1.0, _retries=0)
    assert isinstance(error, voucherify.ApiTimeoutException), repr(error)
