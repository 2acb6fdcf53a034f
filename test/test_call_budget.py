"""The per-call cost, guarded by structure rather than by the clock.

Timing assertions fail on noisy machines; a count of Python function calls does not. A
``track_custom_event`` may make at most ``BUDGET`` more Python-level calls than the floor it
is benchmarked against (a bare urllib3 POST of the same bytes plus ``json.loads``), so a
change that adds work to every call shows up here. The speed itself is measured by
``benchmarks/run.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any, Callable

import pytest
import urllib3

import voucherify
from voucherify._pipeline.request import prepare_request
from voucherify.api.events_api import TRACK_CUSTOM_EVENT

from conftest import EXAMPLE_RESPONSE, make_configuration
from rawserver import RawServer, reply

BUDGET = 80
"""Python calls a track_custom_event may make beyond the floor (65 when written)."""

BODY = {
    "event": "event-name",
    "customer": {"source_id": "referee-source_id"},
    "referral": {"code": "voucher-code", "referrer_id": "referrer-source_id"},
}


def python_calls(action: Callable[[], Any]) -> int:
    """How many Python (and C) function calls ``action`` makes, counted by a profile hook."""
    count = 0

    def hook(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(hook)
    try:
        action()
    finally:
        sys.setprofile(None)
    return count


@pytest.fixture(scope="module")
def server() -> Iterator[RawServer]:
    body = json.dumps(EXAMPLE_RESPONSE).encode()
    with RawServer(reply(b"200 OK", body, close=False), keep_alive=True) as running:
        yield running


def test_a_call_stays_within_its_budget_over_the_floor(server: RawServer) -> None:
    configuration = make_configuration(server.url)
    with voucherify.ApiClient(configuration) as client:
        api = voucherify.EventsApi(client)
        request = prepare_request(
            TRACK_CUSTOM_EVENT, configuration, client.default_headers, BODY, (), {}
        )
        pool = urllib3.PoolManager()

        def sdk() -> None:
            api.track_custom_event(events_create_request_body=BODY)

        def floor() -> None:
            response = pool.request("POST", request.url, body=request.body,
                                    headers=request.headers)
            json.loads(response.data)

        for _ in range(3):  # warm: connections pooled, caches filled, modules imported
            sdk()
            floor()
        sdk_calls = min(python_calls(sdk) for _ in range(3))
        floor_calls = min(python_calls(floor) for _ in range(3))
        pool.clear()
    extra = sdk_calls - floor_calls
    assert server.bodies[-1] == request.body  # the floor sent what the SDK sends
    assert 0 < extra <= BUDGET, f"{sdk_calls} calls against the floor's {floor_calls}"
