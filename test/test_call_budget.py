"""The per-call cost, guarded by structure rather than by the clock.

Timing assertions fail on noisy machines; a count of Python function calls does not. Two
counts guard a ``track_custom_event``:

- it makes no more Python-level calls than the floor it is benchmarked against (a bare
  urllib3 ``PoolManager`` POST of the same bytes plus ``json.loads``): the transport goes
  straight to the host's connection pool, which leaves room for the SDK's own work;
- that own work (validating, encoding, headers, the attempt loop, parsing the reply into the
  model) makes at most ``PIPELINE_BUDGET`` calls beyond the SDK's transport sending the same
  prepared request.

A change that adds work to every call shows up here. The speed itself is measured by
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
from voucherify._pipeline.steps import Send
from voucherify.api.events_api import TRACK_CUSTOM_EVENT

from conftest import EXAMPLE_RESPONSE, make_configuration
from rawserver import RawServer, reply

PIPELINE_BUDGET = 50
"""Python calls a track_custom_event may make beyond its own transport.

37 when written; 60 before a client reused each operation's URL and headers between calls.
"""

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

        step = Send(request.timeouts, 1e12)

        def transport() -> None:
            client.rest_client.send(request, step)

        def floor() -> None:
            response = pool.request("POST", request.url, body=request.body,
                                    headers=request.headers)
            json.loads(response.data)

        for _ in range(3):  # warm: connections pooled, caches filled, modules imported
            sdk()
            transport()
            floor()
        sdk_calls = min(python_calls(sdk) for _ in range(3))
        transport_calls = min(python_calls(transport) for _ in range(3))
        floor_calls = min(python_calls(floor) for _ in range(3))
        pool.clear()
    assert server.bodies[-1] == request.body  # the floor sent what the SDK sends
    assert sdk_calls <= floor_calls, f"{sdk_calls} calls against the floor's {floor_calls}"
    pipeline = sdk_calls - transport_calls
    assert 0 < pipeline <= PIPELINE_BUDGET, (
        f"{sdk_calls} calls against the transport's {transport_calls}"
    )
