"""A reply body is bounded: ``configuration.max_response_bytes``, counted after decompression.

Both clients read a body in chunks and stop as soon as it passes the limit, whatever the
server does: a gzip or deflate bomb, an endless chunked body, a huge ``Content-Length``.
Real servers on 127.0.0.1 serve each case; the peak memory of a bomb is measured in a
subprocess.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

import voucherify
from voucherify import aio
from voucherify.configuration import DEFAULT_MAX_RESPONSE_BYTES

from conftest import APP_ID, APP_TOKEN, EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from rawserver import RawServer

MiB = 1024 * 1024
KINDS = ["sync", "async"]


def track(kind: str, configuration: voucherify.Configuration, **options: Any) -> Any:
    """One ``track_custom_event`` through the sync or the async client, closed after."""
    if kind == "sync":
        with voucherify.ApiClient(configuration) as client:
            return voucherify.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, **options
            )

    async def main() -> Any:
        async with aio.ApiClient(configuration) as client:
            return await aio.EventsApi(client).track_custom_event(
                events_create_request_body=MINIMAL_BODY, **options
            )

    return asyncio.run(main())


def raised(kind: str, configuration: voucherify.Configuration, **options: Any) -> BaseException:
    with pytest.raises(BaseException) as caught:
        track(kind, configuration, **options)
    return caught.value


def zeros_compressed(size: int, wbits: int) -> bytes:
    """``size`` zero bytes compressed: gzip with ``wbits=31``, zlib (``deflate``) with 15."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MiB)
    parts = [compressor.compress(block) for _ in range(size // MiB)]
    return b"".join([*parts, compressor.flush()])


def assert_too_large(error: BaseException, status: int) -> None:
    assert isinstance(error, voucherify.ApiResponseTooLargeException), repr(error)
    assert isinstance(error, voucherify.ApiTransportException)
    assert error.request_sent is None  # the server answered: it processed the request
    assert error.attempts == 1
    assert error.retryable is False  # a POST that was processed is not sent again
    assert "configuration.max_response_bytes" in str(error)
    assert f"status {status}" in str(error)


# --- the setting ------------------------------------------------------------------------


def test_the_default_is_16_mib() -> None:
    assert voucherify.Configuration().max_response_bytes == 16 * MiB == DEFAULT_MAX_RESPONSE_BYTES


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("value", "error"),
    [
        (True, voucherify.ApiTypeError),
        (1.5, voucherify.ApiTypeError),
        ("1000", voucherify.ApiTypeError),
        (None, voucherify.ApiTypeError),
        (0, voucherify.ApiValueError),
        (-1, voucherify.ApiValueError),
    ],
)
def test_a_bad_limit_is_refused_before_anything_is_sent(
    httpserver: HTTPServer, kind: str, value: Any, error: type[Exception]
) -> None:
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.max_response_bytes = value
    caught = raised(kind, configuration)
    assert type(caught) is error
    assert "configuration.max_response_bytes" in str(caught)
    assert len(httpserver.log) == 0


# --- bodies over the limit --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_declared_length_over_the_limit_is_refused(httpserver: HTTPServer, kind: str) -> None:
    httpserver.expect_request("/v1/events").respond_with_data(
        b"x" * (2 * MiB), content_type="application/json"
    )
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.max_response_bytes = MiB
    assert_too_large(raised(kind, configuration), 200)
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_of_exactly_the_limit_is_read(httpserver: HTTPServer, kind: str) -> None:
    body = json.dumps({"code": 400, "key": "invalid_payload", "details": "x" * 5000}).encode()
    httpserver.expect_request("/v1/events").respond_with_data(
        body, status=400, content_type="application/json"
    )
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.max_response_bytes = len(body)
    error = raised(kind, configuration)
    assert isinstance(error, voucherify.BadRequestException)
    assert error.body is not None and len(error.body) == len(body)
    configuration.max_response_bytes = len(body) - 1
    assert_too_large(raised(kind, configuration), 400)


def huge_length_then_close(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000000\r\n\r\n" + b"x" * 10
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_huge_content_length_is_refused_before_reading(kind: str) -> None:
    # Read as far as it goes, the body would end early: a broken connection, not this.
    with RawServer(huge_length_then_close) as server:
        assert_too_large(raised(kind, make_configuration(server.url)), 200)
        assert server.requests == 1


def endless_chunked(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    try:
        for _ in range(100_000):  # 6 GiB: far more than any client should take
            conn.sendall(chunk)
    except OSError:
        return


@pytest.mark.parametrize("kind", KINDS)
def test_an_endless_chunked_body_is_cut_at_the_limit(kind: str) -> None:
    with RawServer(endless_chunked) as server:
        configuration = make_configuration(server.url)
        configuration.max_response_bytes = 4 * MiB
        # Without the limit the read would go on until the deadline.
        assert_too_large(raised(kind, configuration, _deadline=30), 200)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("encoding", "wbits"), [("gzip", 31), ("deflate", 15)])
def test_a_compressed_body_counts_decompressed(
    httpserver: HTTPServer, kind: str, encoding: str, wbits: int
) -> None:
    bomb = zeros_compressed(64 * MiB, wbits)
    assert len(bomb) < 100_000
    httpserver.expect_request("/v1/events").respond_with_response(
        Response(bomb, headers={"Content-Encoding": encoding, "Content-Type": "application/json"})
    )
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.max_response_bytes = MiB  # the compressed body is far smaller than this
    assert_too_large(raised(kind, configuration), 200)


@pytest.mark.parametrize("kind", KINDS)
def test_a_compressed_reply_within_the_limit_is_decoded(httpserver: HTTPServer, kind: str) -> None:
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    httpserver.expect_request("/v1/events").respond_with_response(
        Response(
            gzip.compress(body),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    )
    configuration = make_configuration(httpserver.url_for("/"))
    configuration.max_response_bytes = len(body)
    assert track(kind, configuration).type == "cart_abandoned"


def oversized_first(conn: socket.socket, state: dict[str, int]) -> None:
    state["calls"] += 1
    if state["calls"] == 1:
        body = b"y" * (256 * 1024)
    else:
        body = json.dumps({**EXAMPLE_RESPONSE, "type": "second"}).encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    try:
        conn.sendall(head + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
    except OSError:
        return


@pytest.mark.parametrize("kind", KINDS)
def test_the_connection_of_a_refused_reply_is_not_reused(kind: str) -> None:
    # The unread rest of the first body must never be taken for the next call's reply.
    state = {"calls": 0}
    with RawServer(lambda conn: oversized_first(conn, state), keep_alive=True) as server:
        configuration = make_configuration(server.url)
        configuration.max_response_bytes = 64 * 1024

        if kind == "sync":
            with voucherify.ApiClient(configuration) as client:
                api = voucherify.EventsApi(client)
                with pytest.raises(voucherify.ApiResponseTooLargeException):
                    api.track_custom_event(events_create_request_body=MINIMAL_BODY)
                second = api.track_custom_event(events_create_request_body=MINIMAL_BODY)
        else:

            async def main() -> Any:
                async with aio.ApiClient(configuration) as client:
                    api = aio.EventsApi(client)
                    with pytest.raises(voucherify.ApiResponseTooLargeException):
                        await api.track_custom_event(events_create_request_body=MINIMAL_BODY)
                    return await api.track_custom_event(events_create_request_body=MINIMAL_BODY)

            second = asyncio.run(main())
        assert second.type == "second"
        assert server.requests == 2
        assert server.connections == 2


# --- peak memory ------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    import voucherify
    from voucherify import aio

    ok_host, bomb_host, kind = sys.argv[1:4]
    configuration = voucherify.Configuration(host=ok_host)
    configuration.api_key["X-App-Id"] = {app_id!r}
    configuration.api_key["X-App-Token"] = {app_token!r}
    body = {{"event": "signed_up", "customer": {{"source_id": "c-1"}}}}

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def outcome(call):
        try:
            call()
            return "read"
        except voucherify.ApiException as error:
            return type(error).__name__

    if kind == "sync":
        client = voucherify.ApiClient(configuration)
        api = voucherify.EventsApi(client)
        api.track_custom_event(events_create_request_body=body)  # warm up: imports, models
        before = peak()
        configuration.host = bomb_host
        result = outcome(lambda: api.track_custom_event(events_create_request_body=body))
        client.close()
    else:
        async def main():
            async with aio.ApiClient(configuration) as client:
                api = aio.EventsApi(client)
                await api.track_custom_event(events_create_request_body=body)
                before = peak()
                configuration.host = bomb_host
                try:
                    await api.track_custom_event(events_create_request_body=body)
                    return before, "read"
                except voucherify.ApiException as error:
                    return before, type(error).__name__
        before, result = asyncio.run(main())
    print(json.dumps({{"before": before, "after": peak(), "outcome": result}}))
    """
).format(app_id=APP_ID, app_token=APP_TOKEN)

BOMB_SIZE = 1024 * MiB


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    # Members of 64 MiB each, concatenated: a valid gzip body, quick to build.
    member = gzip.compress(bytes(64 * MiB), compresslevel=9)
    return member * (BOMB_SIZE // (64 * MiB))


@pytest.mark.parametrize("kind", KINDS)
def test_a_gzip_bomb_stays_small_in_memory(
    httpserver: HTTPServer, gzip_bomb: bytes, kind: str, tmp_path: Path
) -> None:
    assert len(gzip_bomb) < 2 * MiB
    httpserver.expect_request("/ok/v1/events").respond_with_json(EXAMPLE_RESPONSE)
    httpserver.expect_request("/bomb/v1/events").respond_with_response(
        Response(
            gzip_bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )
    )
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    done = subprocess.run(
        [sys.executable, str(script), httpserver.url_for("/ok"), httpserver.url_for("/bomb"), kind],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    grew = result["after"] - result["before"]
    # The limit (16 MiB) and a few chunks, far from the gigabyte the body inflates to.
    assert grew < 128 * MiB, f"peak memory grew by {grew / MiB:.0f} MiB"
    assert result["outcome"] == "ApiResponseTooLargeException"


def test_the_memory_measure_sees_an_inflated_body() -> None:
    # The measure's positive control: inflating the same bomb shows in ru_maxrss.
    code = (
        "import gzip, resource, sys\n"
        "bomb = gzip.compress(bytes(64 << 20), 9) * 8\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "data = gzip.decompress(bomb)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert int(done.stdout) >= 256 * MiB
