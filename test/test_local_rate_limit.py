"""Rate-limit emulation of the local stand-in: headers, 429s, windows, what counts."""

from __future__ import annotations

import http.client
import json
import math
import socket
import time
from typing import Any, Iterator, Mapping, Optional

import pytest
from test_local_server import EVENT, REQUEST_ID, Reply, app_keys, client_keys, send

import voucherify
from voucherify.testing import LocalVoucherify, faults

CLIENT_PATH = "/client/v1/events"
RATE_HEADERS = ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-retry")


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(rate_limit=(3, 60.0)) as running:
        yield running


def rate(reply: Reply) -> tuple[int, int, float]:
    limit, remaining, retry = (reply.headers[name] for name in RATE_HEADERS)
    return int(limit), int(remaining), float(retry)


def send_from(
    server: LocalVoucherify, source_ip: str, headers: Mapping[str, str], path: str
) -> Reply:
    """A request from ``source_ip`` (another loopback address) to ``path``."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=5, source_address=(source_ip, 0)
    )
    try:
        conn.request("POST", path, json.dumps(EVENT), dict(headers))
        return Reply(conn.getresponse())
    finally:
        conn.close()


def can_bind(address: str) -> bool:
    try:
        with socket.socket() as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


def test_every_reply_within_the_limit_says_where_the_caller_stands(
    server: LocalVoucherify,
) -> None:
    before = time.time()
    ok = send(server, EVENT)
    bad = send(server, b"{not json")
    missing = send(server, {"event": "e", "customer": {"id": "cust_nobody"}})

    assert [ok.status, bad.status, missing.status] == [200, 400, 404]
    assert [rate(r)[:2] for r in (ok, bad, missing)] == [(3, 2), (3, 1), (3, 0)]
    retries = {rate(r)[2] for r in (ok, bad, missing)}
    assert len(retries) == 1  # one window, one end
    [retry] = retries
    # Unix time of the window's end, to the millisecond.
    assert before + 60 <= retry <= time.time() + 60.001
    assert len(ok.headers["x-rate-limit-retry"].partition(".")[2]) == 3
    assert "retry-after" not in ok.headers
    assert "x-rate-limit-type" not in ok.headers


def test_over_the_limit_is_429_without_processing(server: LocalVoucherify) -> None:
    for _ in range(3):
        assert send(server, EVENT).status == 200
    reply = send(server, EVENT)
    doc = reply.json()

    assert reply.status == 429
    assert REQUEST_ID.match(doc.pop("request_id"))
    assert doc.pop("details")
    assert doc == {"code": 429, "key": "too_many_requests", "message": "Too many requests"}
    assert rate(reply)[:2] == (3, 0)
    assert reply.headers["x-rate-limit-type"] == "project"
    assert 59 <= int(reply.headers["retry-after"]) <= 60
    assert len(server.events) == 3
    assert server.rate_limited == 1
    assert [r["status"] for r in server.requests] == [200, 200, 200, 429]


@pytest.mark.parametrize(("window", "expected"), [(0.5, 1), (1.0, 1), (2.5, 3)])
def test_retry_after_is_whole_seconds_rounded_up_at_least_one(
    window: float, expected: int
) -> None:
    with LocalVoucherify(rate_limit=(1, window)) as server:
        first = send(server, EVENT)
        refused = send(server, EVENT)
    assert first.status == 200
    assert refused.status == 429
    assert refused.headers["retry-after"] == str(expected)
    assert rate(refused)[2] >= math.floor(time.time())


def test_a_new_window_opens_after_the_old_one_ends() -> None:
    with LocalVoucherify(rate_limit=(2, 0.5)) as server:
        assert [send(server, EVENT).status for _ in range(3)] == [200, 200, 429]
        time.sleep(0.55)
        again = send(server, EVENT)
        assert again.status == 200
        assert rate(again)[:2] == (2, 1)
        assert send(server, EVENT).status == 200
        assert send(server, EVENT).status == 429
        assert server.rate_limited == 2
        assert len(server.events) == 4


def test_only_requests_with_the_right_keys_count(server: LocalVoucherify) -> None:
    for _ in range(5):
        unauthorized = send(server, EVENT, {"X-App-Id": "wrong", "X-App-Token": "wrong"})
        assert unauthorized.status == 401
        assert not any(name in unauthorized.headers for name in RATE_HEADERS)
    not_allowed = send(server, None, method="GET")
    assert not_allowed.status == 405
    assert "x-rate-limit-limit" not in not_allowed.headers
    assert send(server, EVENT, path="/v1/unknown").status == 404

    assert rate(send(server, EVENT))[:2] == (3, 2)
    assert server.rate_limited == 0


def test_the_project_limit_does_not_cover_the_client_side_endpoint(
    server: LocalVoucherify,
) -> None:
    for _ in range(3):
        send(server, EVENT)
    assert send(server, EVENT).status == 429
    client = send(server, EVENT, client_keys(server), path=CLIENT_PATH)
    assert client.status == 200
    assert "x-rate-limit-limit" not in client.headers


def test_client_side_limit_is_per_ip_and_leaves_the_server_side_alone() -> None:
    if not can_bind("127.0.0.2"):
        pytest.skip("needs a second loopback address, 127.0.0.2")
    with LocalVoucherify(client_rate_limit=(2, 60.0)) as server:
        headers = client_keys(server)
        first = [send_from(server, "127.0.0.1", headers, CLIENT_PATH) for _ in range(3)]
        other_ip = send_from(server, "127.0.0.2", headers, CLIENT_PATH)
        server_side = send(server, EVENT)

        assert [r.status for r in first] == [200, 200, 429]
        assert first[2].headers["x-rate-limit-type"] == "client"
        assert first[2].json()["key"] == "too_many_requests"
        assert (other_ip.status, rate(other_ip)[:2]) == (200, (2, 1))
        assert server_side.status == 200
        assert "x-rate-limit-limit" not in server_side.headers
        assert server.rate_limited == 1
        assert len(server.events) == 4


def test_client_side_limit_headers_come_on_4xx_too() -> None:
    with LocalVoucherify(client_rate_limit=(5, 5.0), allowed_origins=["https://a.example"]) as s:
        forbidden = send(s, EVENT, client_keys(s, origin="https://b.example"), path=CLIENT_PATH)
        invalid = send(s, b"[]", client_keys(s, origin="https://a.example"), path=CLIENT_PATH)
    assert (forbidden.status, rate(forbidden)[:2]) == (403, (5, 4))
    assert (invalid.status, rate(invalid)[:2]) == (400, (5, 3))


def test_limits_change_while_running_and_none_turns_them_off(server: LocalVoucherify) -> None:
    for _ in range(3):
        send(server, EVENT)
    server.set_rate_limit(1, 30.0)  # a new limit starts a new window
    fresh = send(server, EVENT)
    assert (fresh.status, rate(fresh)[:2]) == (200, (1, 0))
    assert send(server, EVENT).status == 429

    server.set_rate_limit(None)
    free = [send(server, EVENT) for _ in range(4)]
    assert {r.status for r in free} == {200}
    assert not any("x-rate-limit-limit" in r.headers for r in free)

    server.set_client_rate_limit(1, 30.0)
    client = [send(server, EVENT, client_keys(server), path=CLIENT_PATH) for _ in range(2)]
    assert [r.status for r in client] == [200, 429]
    server.set_client_rate_limit(None)
    assert send(server, EVENT, client_keys(server), path=CLIENT_PATH).status == 200


def test_reset_starts_the_windows_and_the_count_afresh(server: LocalVoucherify) -> None:
    for _ in range(4):
        send(server, EVENT)
    assert server.rate_limited == 1
    server.reset()
    assert server.rate_limited == 0
    assert rate(send(server, EVENT))[:2] == (3, 2)


def test_faults_come_before_the_limit_and_do_not_count(server: LocalVoucherify) -> None:
    server.inject(faults.status(503), times=2)
    injected = [send(server, EVENT) for _ in range(2)]
    assert [r.status for r in injected] == [503, 503]
    assert "x-rate-limit-limit" not in injected[0].headers
    assert rate(send(server, EVENT))[:2] == (3, 2)

    for _ in range(3):
        send(server, EVENT)
    server.inject(faults.status(502))
    assert send(server, EVENT).status == 502  # not 429: the fault answers first


def test_sdk_raises_too_many_requests(server: LocalVoucherify) -> None:
    configuration = voucherify.Configuration(host=server.url)
    configuration.retries = False
    configuration.api_key.update(app_keys(server))
    with voucherify.ApiClient(configuration) as client:
        api = voucherify.EventsApi(client)
        for _ in range(3):
            api.track_custom_event(events_create_request_body=EVENT)
        with pytest.raises(voucherify.TooManyRequestsException) as caught:
            api.track_custom_event(events_create_request_body=EVENT)
    assert caught.value.status == 429
    assert caught.value.key == "too_many_requests"
    assert len(server.events) == 3


@pytest.mark.parametrize(
    ("pair", "error"),
    [
        ((0, 1.0), ValueError),
        ((1, 0.0), ValueError),
        ((1, float("inf")), ValueError),
        ((True, 1.0), TypeError),
        ((1,), TypeError),
        ([1, 1.0], TypeError),
    ],
)
def test_bad_limits_are_refused(pair: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        LocalVoucherify(rate_limit=pair)
    with pytest.raises(error):
        LocalVoucherify(client_rate_limit=pair)


def test_bad_limits_are_refused_while_running(server: LocalVoucherify) -> None:
    bad: list[tuple[Optional[Any], Any]] = [(0, 1.0), (2, -1.0), ("2", 1.0)]
    for limit, window in bad:
        with pytest.raises((TypeError, ValueError)):
            server.set_rate_limit(limit, window)
    assert rate(send(server, EVENT))[:2] == (3, 2)  # the old limit stays
