"""The asyncio client against the same fault matrix as the sync one, and 2,000 concurrent events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

import voucherify
from voucherify import aio
from voucherify.testing import LocalVoucherify

from fault_matrix import BODY, ROWS, Row, check, configuration_for, prepare, route


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[LocalVoucherify, LocalVoucherify]]:
    with LocalVoucherify() as server, LocalVoucherify() as other:
        yield server, other


@pytest.mark.asyncio
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_fault(row: Row, servers: tuple[LocalVoucherify, LocalVoucherify]) -> None:
    server, other = servers
    server.reset()
    other.reset()
    options = prepare(row, server, other)
    outcomes: list[Any] = []
    with route(row, server) as configuration:
        async with aio.ApiClient(configuration) as client:
            api = aio.EventsApi(client)
            started = time.monotonic()
            for _ in range(row.calls):
                try:
                    outcomes.append(
                        await api.track_custom_event(events_create_request_body=BODY, **options)
                    )
                except voucherify.ApiException as error:
                    outcomes.append(error)
            elapsed = time.monotonic() - started
    check(row, outcomes, elapsed, server, other)


@pytest.mark.asyncio
async def test_two_thousand_events_through_gather_arrive_exactly_once() -> None:
    total, limit = 2000, 64
    with LocalVoucherify() as server:
        async with aio.ApiClient(configuration_for(server)) as client:
            api = aio.EventsApi(client)
            gate = asyncio.Semaphore(limit)
            in_flight = peak = 0

            async def track(n: int) -> str:
                nonlocal in_flight, peak
                async with gate:
                    in_flight += 1
                    peak = max(peak, in_flight)
                    try:
                        result = await api.track_custom_event(events_create_request_body={
                            "event": "bulk", "customer": {"source_id": f"c{n % 50}"},
                            "metadata": {"n": n},
                        })
                    finally:
                        in_flight -= 1
                return result.customer.id

            ids = await asyncio.gather(*(track(n) for n in range(total)))
        events = server.events
    assert len(ids) == total
    assert peak == limit
    numbers = sorted(e["body"]["metadata"]["n"] for e in events)
    assert numbers == list(range(total)), "each event must reach the server exactly once"
    assert len({e["customer_id"] for e in events}) == 50
