"""The sync client against the stand-in's faults: see fault_matrix.py for the rows."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import voucherify
from voucherify.testing import LocalVoucherify

from fault_matrix import BODY, OPTIONS, ROWS, Row, check, prepare, route


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LocalVoucherify, LocalVoucherify]]:
    with LocalVoucherify() as server, LocalVoucherify() as other:
        yield server, other


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_fault(row: Row, servers: tuple[LocalVoucherify, LocalVoucherify]) -> None:
    server, other = servers
    server.reset()
    other.reset()
    options = prepare(row, server, other)
    outcomes: list[Any] = []
    with route(row, server) as configuration, voucherify.ApiClient(configuration) as client:
        api = voucherify.EventsApi(client)
        started = time.monotonic()
        for _ in range(row.calls):
            try:
                outcomes.append(api.track_custom_event(events_create_request_body=BODY, **options))
            except voucherify.ApiException as error:
                outcomes.append(error)
        elapsed = time.monotonic() - started
    check(row, outcomes, elapsed, server, other)


def test_refused_connection_is_retried_and_never_reached_the_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configuration = voucherify.Configuration(host=f"http://127.0.0.1:{port}")
    configuration.api_key.update({"X-App-Id": "a", "X-App-Token": "b"})
    started = time.monotonic()
    with voucherify.ApiClient(configuration) as client, pytest.raises(
        voucherify.ApiConnectionException
    ) as info:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=BODY, **OPTIONS)
    assert time.monotonic() - started < 1.0
    assert info.value.request_sent is False
    assert info.value.retryable is True
    assert info.value.attempts == 4
