"""Injected faults of the local stand-in, seen from real clients over real sockets."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from typing import Any, Callable, Iterator, Optional

import pytest
import urllib3
from test_local_server import EVENT, REQUEST_ID, UNAUTHORIZED, Reply, app_keys, send

import voucherify
from voucherify.testing import LocalVoucherify, faults

EVENT_BYTES = json.dumps(EVENT).encode()


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as running:
        yield running


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def raw_exchange(
    server: LocalVoucherify, *, keep_alive: bool = False, timeout: float = 5.0
) -> list[tuple[float, bytes]]:
    """Send one request on a bare socket; every piece received until EOF, with its time.

    A reset (RST) instead of an orderly close (FIN) raises ``ConnectionResetError``.
    """
    request = (
        f"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-App-Id: {server.app_id}\r\n"
        f"X-App-Token: {server.app_token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(EVENT_BYTES)}\r\n"
        + ("" if keep_alive else "Connection: close\r\n")
        + "\r\n"
    ).encode() + EVENT_BYTES
    pieces: list[tuple[float, bytes]] = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        try:
            while piece := sock.recv(65536):
                pieces.append((time.monotonic(), piece))
        except ConnectionResetError:
            raise PartialReply(b"".join(piece for _, piece in pieces)) from None
    return pieces


class PartialReply(ConnectionResetError):
    """The connection was reset; ``received`` is what came before."""

    def __init__(self, received: bytes) -> None:
        super().__init__("connection reset")
        self.received = received


def sdk_track(server: LocalVoucherify, read_timeout: float = 5.0) -> Any:
    configuration = voucherify.Configuration(host=server.url, timeout=(5.0, read_timeout))
    configuration.retries = False
    configuration.api_key.update(app_keys(server))
    with voucherify.ApiClient(configuration) as client:
        return voucherify.EventsApi(client).track_custom_event(events_create_request_body=EVENT)


def statuses_and_faults(server: LocalVoucherify) -> list[tuple[int, Optional[str]]]:
    return [(r["status"], r["fault"]) for r in server.requests]


# -- faults that process the request ---------------------------------------------------------


def test_delay_answers_late_and_a_client_that_gives_up_still_gets_its_event_recorded(
    server: LocalVoucherify,
) -> None:
    server.inject(faults.delay(0.3))
    started = time.monotonic()
    assert send(server, EVENT).status == 200
    assert time.monotonic() - started >= 0.3

    server.inject(faults.delay(0.4))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=0.1)
    try:
        with pytest.raises(socket.timeout):  # on 3.9 not yet the same as TimeoutError
            conn.request("POST", "/v1/events", EVENT_BYTES, app_keys(server))
            conn.getresponse()
    finally:
        conn.close()
    assert len(server.events) == 1  # not yet: the server is still waiting
    assert wait_for(lambda: len(server.events) == 2)
    assert statuses_and_faults(server) == [(200, "delay"), (200, "delay")]


def test_sdk_times_out_on_a_delay_and_says_the_request_may_have_been_processed(
    server: LocalVoucherify,
) -> None:
    server.inject(faults.delay(0.5))
    with pytest.raises(voucherify.ApiTimeoutException) as caught:
        sdk_track(server, read_timeout=0.1)
    assert caught.value.request_sent is None
    assert wait_for(lambda: len(server.events) == 1)


def test_drop_after_processing_records_the_event_but_sends_nothing(
    server: LocalVoucherify,
) -> None:
    server.inject(faults.drop_after_processing())
    with pytest.raises(http.client.RemoteDisconnected):
        send(server, EVENT)

    assert len(server.events) == 1
    assert statuses_and_faults(server) == [(0, "drop_after_processing")]
    assert send(server, EVENT).status == 200  # only the next request was affected

    server.inject(faults.drop_after_processing())
    assert raw_exchange(server) == []  # an orderly close (FIN), not a reset
    assert len(server.events) == 3


def test_sdk_cannot_tell_whether_a_dropped_event_counted(server: LocalVoucherify) -> None:
    server.inject(faults.drop_after_processing())
    with pytest.raises(voucherify.ApiConnectionException) as caught:
        sdk_track(server)

    assert caught.value.request_sent is None
    assert [event["event"] for event in server.events] == ["signed_up"]


def test_reset_after_head_sends_status_and_headers_then_resets(server: LocalVoucherify) -> None:
    server.inject(faults.reset_after_head())
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", "/v1/events", EVENT_BYTES, app_keys(server))
        response = conn.getresponse()
        assert response.status == 200
        assert int(response.getheader("Content-Length", "0")) > 0
        with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
            response.read()
    finally:
        conn.close()

    assert len(server.events) == 1
    assert statuses_and_faults(server) == [(200, "reset_after_head")]

    server.inject(faults.reset_after_head())
    with pytest.raises(PartialReply) as caught:
        raw_exchange(server)
    head = caught.value.received
    assert head.startswith(b"HTTP/1.1 200 ")
    assert head.endswith(b"\r\n\r\n")  # all of the head, none of the body
    assert len(server.events) == 2


def test_reset_after_head_reaches_urllib3_as_a_protocol_error(server: LocalVoucherify) -> None:
    server.inject(faults.reset_after_head())
    with urllib3.PoolManager(retries=False) as pool, pytest.raises(urllib3.exceptions.HTTPError):
        pool.request("POST", f"{server.url}/v1/events", body=EVENT_BYTES, headers=app_keys(server))
    assert len(server.events) == 1


def test_trickle_sends_the_whole_reply_in_small_pieces_over_time(server: LocalVoucherify) -> None:
    server.inject(faults.trickle(chunk_size=64, interval=0.03))
    pieces = raw_exchange(server)
    received = b"".join(piece for _, piece in pieces)

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(body)["type"] == "signed_up"
    chunks = -(-len(received) // 64)
    assert len(pieces) >= chunks - 1  # pieces sent 30 ms apart are read apart
    assert max(len(piece) for _, piece in pieces) <= 128
    assert pieces[-1][0] - pieces[0][0] >= 0.03 * (chunks - 2)
    assert statuses_and_faults(server) == [(200, "trickle")]
    assert len(server.events) == 1


def test_trickle_keeps_a_per_read_timeout_happy_but_slows_the_whole_call(
    server: LocalVoucherify,
) -> None:
    server.inject(faults.trickle(chunk_size=100, interval=0.05))
    started = time.monotonic()
    reply = _post(server, timeout=0.5)
    assert reply.status == 200
    assert reply.json()["type"] == "signed_up"
    assert time.monotonic() - started >= 0.1


def test_close_after_reply_answers_then_closes(server: LocalVoucherify) -> None:
    server.inject(faults.close_after_reply())
    # A keep-alive request: only the fault makes the server close (else the read times out).
    received = b"".join(piece for _, piece in raw_exchange(server, keep_alive=True, timeout=3))

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nConnection: close\r\n" in head + b"\r\n"
    assert json.loads(body)["type"] == "signed_up"
    assert len(server.events) == 1
    assert statuses_and_faults(server) == [(200, "close_after_reply")]


def test_without_a_fault_the_same_keep_alive_request_stays_open(server: LocalVoucherify) -> None:
    with pytest.raises(socket.timeout):  # on 3.9 not yet the same as TimeoutError
        raw_exchange(server, keep_alive=True, timeout=0.3)
    assert len(server.events) == 1


# -- faults that answer instead --------------------------------------------------------------


def test_status_answers_an_error_body_without_processing(server: LocalVoucherify) -> None:
    server.inject(faults.status(503))
    reply = send(server, EVENT)
    doc = reply.json()

    assert reply.status == 503
    assert REQUEST_ID.match(doc.pop("request_id"))
    assert doc["code"] == 503
    assert doc["key"] == "service_unavailable"
    assert doc["message"] == "Service unavailable"
    assert "retry-after" not in reply.headers
    assert server.events == []
    assert server.customers == []
    assert statuses_and_faults(server) == [(503, "status")]


def test_status_with_retry_after_custom_body_and_headers(server: LocalVoucherify) -> None:
    server.inject(faults.status(429, retry_after=7))
    server.inject(faults.status(500, body={"statusCode": 500, "error": "Oops"}))
    html_headers = {"Content-Type": "text/html", "X-Edge": "1"}
    server.inject(faults.status(502, body=b"<h1>bad gateway</h1>", headers=html_headers))
    server.inject(faults.status(401))

    limited = send(server, EVENT)
    assert (limited.status, limited.headers["retry-after"]) == (429, "7")
    assert limited.json()["key"] == "too_many_requests"
    framework = send(server, EVENT)
    assert framework.json() == {"statusCode": 500, "error": "Oops"}
    html = send(server, EVENT)
    assert (html.status, html.raw, html.headers["content-type"]) == (
        502,
        b"<h1>bad gateway</h1>",
        "text/html",
    )
    assert html.headers["x-edge"] == "1"
    assert send(server, EVENT).raw == UNAUTHORIZED
    assert server.events == []


def test_sdk_raises_the_injected_status(server: LocalVoucherify) -> None:
    server.inject(faults.status(503))
    with pytest.raises(voucherify.ServiceException) as caught:
        sdk_track(server)
    assert caught.value.status == 503
    assert caught.value.key == "service_unavailable"
    assert server.events == []


def test_reset_resets_the_connection_without_processing(server: LocalVoucherify) -> None:
    server.inject(faults.reset())
    with pytest.raises(PartialReply) as caught:
        raw_exchange(server)  # a reset (RST), not an orderly close
    assert caught.value.received == b""
    server.inject(faults.reset())
    with pytest.raises(ConnectionResetError):
        send(server, EVENT)

    assert server.events == []
    assert statuses_and_faults(server) == [(0, "reset"), (0, "reset")]


def test_sdk_sees_a_reset_as_a_broken_connection(server: LocalVoucherify) -> None:
    server.inject(faults.reset())
    with pytest.raises(voucherify.ApiConnectionException) as caught:
        sdk_track(server)
    assert caught.value.request_sent is None
    assert server.events == []


@pytest.mark.parametrize("status", [307, 301])
def test_redirect_answers_a_redirect_without_processing(
    server: LocalVoucherify, status: int
) -> None:
    server.inject(faults.redirect("https://elsewhere.example/v1/events", status=status))
    reply = send(server, EVENT)

    assert reply.status == status
    assert reply.headers["location"] == "https://elsewhere.example/v1/events"
    assert reply.raw == b""
    assert server.events == []
    assert statuses_and_faults(server) == [(status, "redirect")]


def test_raw_answers_those_bytes_and_the_sdk_reports_a_bad_reply(server: LocalVoucherify) -> None:
    server.inject(faults.raw())
    reply = send(server, EVENT)
    assert (reply.status, reply.raw) == (200, b"<html>oops</html>")
    assert reply.headers["content-type"] == "text/html"

    server.inject(faults.raw(502, b"\xff\x00 not json", "application/octet-stream"))
    with pytest.raises(voucherify.ApiException) as caught:
        sdk_track(server)
    assert caught.value.status == 502
    assert server.events == []
    assert statuses_and_faults(server) == [(200, "raw"), (502, "raw")]


def test_faults_apply_before_the_keys_are_checked(server: LocalVoucherify) -> None:
    server.inject(faults.status(503))
    assert send(server, EVENT, {"X-App-Id": "wrong"}).status == 503
    server.inject(faults.drop_after_processing())
    with pytest.raises(http.client.RemoteDisconnected):
        send(server, EVENT, {"X-App-Id": "wrong"})
    assert statuses_and_faults(server) == [(503, "status"), (0, "drop_after_processing")]
    assert server.events == []


# -- the queue -------------------------------------------------------------------------------


def test_injections_apply_in_order_each_for_its_times(server: LocalVoucherify) -> None:
    server.inject(faults.status(500), times=2)
    server.inject(faults.status(503))
    server.inject(faults.raw(201, b"{}", "application/json"))

    assert [send(server, EVENT).status for _ in range(5)] == [500, 500, 503, 201, 200]
    assert [f for _, f in statuses_and_faults(server)] == ["status"] * 3 + ["raw", None]


def test_a_path_injection_waits_for_its_path(server: LocalVoucherify) -> None:
    server.inject(faults.status(503), path="/client/v1/events")
    server.inject(faults.status(502))

    assert send(server, EVENT).status == 502  # the any-path one, queued later
    assert send(server, EVENT).status == 200
    assert send(server, EVENT, path="/v1/other").status == 404
    client_headers = {
        "X-Client-Application-Id": server.client_app_id,
        "X-Client-Token": server.client_token,
        "origin": "https://shop.example",
    }
    assert send(server, EVENT, client_headers, path="/client/v1/events?x=1").status == 503
    assert send(server, EVENT, client_headers, path="/client/v1/events").status == 200


def test_clear_faults_and_reset_drop_the_queue(server: LocalVoucherify) -> None:
    server.inject(faults.status(503), times=3)
    server.clear_faults()
    assert send(server, EVENT).status == 200
    server.inject(faults.reset(), times=3)
    server.reset()
    assert send(server, EVENT).status == 200
    assert statuses_and_faults(server) == [(200, None)]


def test_concurrent_requests_use_up_exactly_the_injected_times(server: LocalVoucherify) -> None:
    server.inject(faults.status(503), times=5)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status = send(server, EVENT).status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [200] * 7 + [503] * 5
    assert len(server.events) == 7


def test_stop_does_not_wait_out_a_long_delay() -> None:
    server = LocalVoucherify().start()
    server.inject(faults.delay(30))
    caller = threading.Thread(target=_post_ignoring_errors, args=(server,), daemon=True)
    caller.start()
    time.sleep(0.2)  # the request is read and held by the delay
    assert caller.is_alive()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    caller.join(5)
    assert not caller.is_alive()
    assert server.events == []


# -- the Fault objects -----------------------------------------------------------------------

EVERY_FAULT = [
    faults.delay(0.25),
    faults.status(503, body=b"\xff\xfe", headers={"X-A": "b"}, retry_after=2),
    faults.status(400),
    faults.reset(),
    faults.drop_after_processing(),
    faults.reset_after_head(),
    faults.trickle(3, 0.01),
    faults.close_after_reply(),
    faults.redirect("/elsewhere", status=308),
    faults.raw(),
]


@pytest.mark.parametrize("fault", EVERY_FAULT, ids=[f.name for f in EVERY_FAULT])
def test_faults_are_frozen_and_survive_a_json_round_trip(fault: faults.Fault) -> None:
    crossed = faults.Fault.from_json(json.loads(json.dumps(fault.to_json())))
    assert crossed == fault
    assert hash(crossed) == hash(fault)
    assert re.fullmatch(r"faults\.\w+\(.*\)", repr(fault))
    with pytest.raises(AttributeError):
        fault.name = "reset"  # type: ignore[misc]


def test_which_faults_process_the_request() -> None:
    processing = {f.name for f in EVERY_FAULT if f.processes}
    assert processing == {
        "delay",
        "drop_after_processing",
        "reset_after_head",
        "trickle",
        "close_after_reply",
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda: faults.delay(-1),
        lambda: faults.delay(float("nan")),
        lambda: faults.status(99),
        lambda: faults.status(600),
        lambda: faults.status(503, retry_after=-1),
        lambda: faults.status(503, headers={"X-A": "b\r\nX-Injected: 1"}),
        lambda: faults.status(503, headers={"Content-Length": "1"}),
        lambda: faults.trickle(0),
        lambda: faults.trickle(1, -0.1),
        lambda: faults.redirect("https://x.example", status=200),
        lambda: faults.redirect(""),
        lambda: faults.Fault("explode"),
        lambda: faults.Fault.from_json({"name": "delay"}),
    ],
)
def test_bad_fault_parameters_are_refused(make: Callable[[], Any]) -> None:
    with pytest.raises(ValueError):
        make()


def test_bad_injections_are_refused(server: LocalVoucherify) -> None:
    with pytest.raises(ValueError):
        server.inject(faults.reset(), times=0)
    with pytest.raises(ValueError):
        server.inject(faults.reset(), path="v1/events")
    with pytest.raises(TypeError):
        server.inject("reset")  # type: ignore[arg-type]
    assert send(server, EVENT).status == 200


# -- helpers ---------------------------------------------------------------------------------


def _post(server: LocalVoucherify, timeout: float) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("POST", "/v1/events", EVENT_BYTES, app_keys(server))
        return Reply(conn.getresponse())
    finally:
        conn.close()


def _post_ignoring_errors(server: LocalVoucherify) -> None:
    with contextlib.suppress(OSError):
        _post(server, timeout=10)
