"""``close()`` while calls are running: the calls end in their results or in documented SDK
exceptions only, and what they say about sending matches what the server received.

Sync: threads calling while another thread closes the client over and over, with closes
landing while connecting (through a proxy whose every call opens a new tunnel), while
reading (a server that answers late) and between calls. Async: tasks in flight while the
client is closed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import voucherify
from voucherify import aio
from voucherify.testing import LocalVoucherify

from conftest import EXAMPLE_RESPONSE, MINIMAL_BODY, make_configuration
from fault_matrix import TUNNEL_NAME, _authority, configuration_for
from rawserver import FaultProxy, RawServer, reply

BODY = json.dumps(EXAMPLE_RESPONSE).encode()
OPTIONS: dict[str, Any] = {"_retries": 0, "_request_timeout": (2.0, 2.0), "_deadline": 5.0}


def late_reply(conn: socket.socket) -> None:
    time.sleep(0.01)
    reply(b"200 OK", BODY, close=False)(conn)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as server:
        yield server


def check(outcomes: list[Any], received: int) -> None:
    """Only results and SDK exceptions; no call said "not sent" of a request that arrived."""
    strays = [o for o in outcomes if not isinstance(o, (voucherify.ApiTransportException, str))]
    assert strays == [], strays[:3]
    succeeded = outcomes.count("ok")
    maybe = sum(isinstance(o, voucherify.ApiTransportException) and o.request_sent is None
                for o in outcomes)
    assert succeeded <= received <= succeeded + maybe, (succeeded, maybe, received)


def race_sync(configuration: voucherify.Configuration, calls: int) -> list[Any]:
    outcomes: list[Any] = []
    with voucherify.ApiClient(configuration) as client:
        events = voucherify.EventsApi(client)

        def track_many() -> None:
            for _ in range(calls):
                try:
                    events.track_custom_event(events_create_request_body=MINIMAL_BODY, **OPTIONS)
                    outcomes.append("ok")
                except Exception as error:  # anything at all, to be judged by check()
                    outcomes.append(error)

        workers = [threading.Thread(target=track_many) for _ in range(4)]
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # switch threads often, so that close() lands mid-call
        try:
            for worker in workers:
                worker.start()
            deadline = time.monotonic() + 60
            while any(worker.is_alive() for worker in workers) and time.monotonic() < deadline:
                client.close()
                time.sleep(0.0005)
        finally:
            sys.setswitchinterval(interval)
            for worker in workers:
                worker.join(30)
    assert len(outcomes) == 4 * calls
    return outcomes


@pytest.mark.parametrize("behaviour", [reply(b"200 OK", BODY, close=False), late_reply],
                         ids=["between-calls", "while-reading"])
def test_sync_close_racing_calls_on_kept_alive_connections(behaviour: Callable[..., None]) -> None:
    with RawServer(behaviour, keep_alive=True) as server:
        outcomes = race_sync(make_configuration(server.url), calls=40)
        check(outcomes, server.requests)


def test_sync_close_racing_calls_through_a_proxy_while_connecting(local: LocalVoucherify) -> None:
    # The proxy closes after each reply, so every call connects and opens a tunnel anew.
    local.reset()
    context, bundle = _authority()
    host, port = local.url.rsplit(":", 1)
    with FaultProxy((host.split("//")[1], int(port.strip("/"))), context) as proxy:
        configuration = configuration_for(local, host=f"https://{TUNNEL_NAME}")
        configuration.ssl_ca_cert = bundle
        configuration.proxy = proxy.url
        outcomes = race_sync(configuration, calls=10)
    check(outcomes, len([r for r in local.requests if r["path"] == "/v1/events"]))


@pytest.mark.parametrize("when", ["connecting", "in-flight"])
def test_async_close_while_tasks_are_in_flight(when: str) -> None:
    def stall_then_reply(conn: socket.socket) -> None:
        time.sleep(0.3)
        reply(b"200 OK", BODY, close=False)(conn)

    async def run(url: str) -> list[Any]:
        client = aio.ApiClient(make_configuration(url))
        api = aio.EventsApi(client)

        async def track() -> Any:
            try:
                await api.track_custom_event(events_create_request_body=MINIMAL_BODY, **OPTIONS)
                return "ok"
            except Exception as error:  # anything at all, to be judged by check()
                return error

        tasks = [asyncio.ensure_future(track()) for _ in range(20)]
        await asyncio.sleep(0 if when == "connecting" else 0.15)
        await client.close()
        outcomes = list(await asyncio.gather(*tasks))
        more = await track()  # a call after close() opens a new session
        await client.close()
        return [*outcomes, more]

    with RawServer(stall_then_reply, keep_alive=True) as server:
        outcomes = asyncio.run(asyncio.wait_for(run(server.url), 30))
        received = server.requests
    check(outcomes, received)
    assert outcomes[-1] == "ok"
    if when == "connecting":
        # Closed before any connection was made: nothing of those calls can have arrived.
        assert received == 1
        assert all(o.request_sent is False for o in outcomes[:-1]), outcomes[:3]
