"""One ``aio.ApiClient`` across event loops: a second ``asyncio.run``, pytest-asyncio's
function-scoped loops, threads that each run a loop, and ``close()`` from another loop.

The transport keeps one aiohttp session per loop. Each is closed when its loop shuts down
its async generators (``asyncio.run`` and pytest-asyncio do), so nothing is left open and
nothing is awaited across loops. Every test runs against the local stand-in on 127.0.0.1 and
fails on any unclosed session or connector, or any exception nobody could catch.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import voucherify
from voucherify import aio
from voucherify.testing import LocalVoucherify, faults

WAIT = 30  # seconds: the most any step may take before the test fails instead of hanging


def configuration_for(server: LocalVoucherify) -> voucherify.Configuration:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    return configuration


async def track(client: aio.ApiClient, source_id: str) -> str:
    event = await aio.EventsApi(client).track_custom_event(
        events_create_request_body={"event": "signed_up", "customer": {"source_id": source_id}},
        _deadline=WAIT,
    )
    return str(event.customer.source_id)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as local:
        yield local


@pytest.fixture(autouse=True)
def nothing_left_open() -> Iterator[None]:
    """Fail on an unclosed session or connector, a raw RuntimeError in a callback, or any
    exception raised where no caller could catch it."""
    unraisable: list[str] = []
    previous_hook = sys.unraisablehook

    def hook(info: Any) -> None:
        unraisable.append(f"{info.exc_type.__name__}: {info.exc_value!r}")

    # A loop an earlier test left set (pytest-asyncio on Python 3.9 does) would be dropped by
    # this test's first asyncio.run and reported here: drop it, and collect, beforehand.
    asyncio.set_event_loop(None)
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.unraisablehook = hook
        try:
            yield
            gc.collect()
        finally:
            sys.unraisablehook = previous_hook
    left = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) or "unclosed" in str(w.message).lower()
    ]
    assert left + unraisable == []


def test_two_asyncio_runs_in_sequence_on_one_client(server: LocalVoucherify) -> None:
    client = aio.ApiClient(configuration_for(server))  # made outside any event loop

    async def first() -> Any:
        assert await track(client, "run-1") == "run-1"
        return client.rest_client._session

    session = asyncio.run(first())
    assert session is not None and session.closed  # closed as its loop ended
    # A new loop: a new session, not the closed loop's (which raised RuntimeError before).
    assert asyncio.run(track(client, "run-2")) == "run-2"
    assert asyncio.run(track(client, "run-3")) == "run-3"
    asyncio.run(client.close())
    sent = [e["body"]["customer"]["source_id"] for e in server.events[-3:]]
    assert sent == ["run-1", "run-2", "run-3"]


def test_the_default_client_works_in_each_asyncio_run(server: LocalVoucherify) -> None:
    aio.ApiClient.set_default(aio.ApiClient(configuration_for(server)))
    try:
        for n in range(2):
            result = asyncio.run(
                aio.EventsApi().track_custom_event(
                    events_create_request_body={
                        "event": "signed_up", "customer": {"source_id": f"default-{n}"}},
                    _deadline=WAIT,
                )
            )
            assert result.customer.source_id == f"default-{n}"
    finally:
        asyncio.run(aio.ApiClient.get_default().close())
        aio.ApiClient.set_default(None)


def test_a_loop_closed_without_shutting_down_still_lets_the_next_one_work(
    server: LocalVoucherify,
) -> None:
    # A hand-made loop closed without shutdown_asyncgens(): its session cannot be closed in
    # it any more; the next loop marks it closed and opens its own.
    client = aio.ApiClient(configuration_for(server))

    async def first() -> Any:
        assert await track(client, "manual") == "manual"
        return client.rest_client._session

    loop = asyncio.new_event_loop()
    try:
        abandoned = loop.run_until_complete(first())
    finally:
        loop.close()
    assert abandoned is not None and not abandoned.closed

    async def second() -> Any:
        assert await track(client, "after-manual") == "after-manual"
        return client.rest_client._session

    session = asyncio.run(second())
    assert session is not abandoned and abandoned.closed
    asyncio.run(client.close())
    del abandoned, session, loop
    # The closed loop's sockets are closed when its transports are collected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_threads_with_their_own_loops_share_one_client(server: LocalVoucherify) -> None:
    client = aio.ApiClient(configuration_for(server))
    start = threading.Barrier(2, timeout=WAIT)
    results: dict[int, Any] = {}

    def worker(n: int) -> None:
        async def calls() -> list[str]:
            start.wait()  # both loops are running before either sends
            ids = [f"thread-{n}-{i}" for i in range(5)]
            return list(await asyncio.gather(*(track(client, i) for i in ids)))

        try:
            results[n] = asyncio.run(calls())
        except BaseException as error:  # reported by the assertion below
            results[n] = error

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert results == {n: [f"thread-{n}-{i}" for i in range(5)] for n in range(2)}
    asyncio.run(client.close())


class LoopThread:
    """An event loop running in a thread of its own until stopped."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(WAIT)

    def stop(self) -> None:
        self.run(self.loop.shutdown_asyncgens())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        self.loop.close()


def test_close_from_another_loop_closes_a_running_loops_session(
    server: LocalVoucherify,
) -> None:
    client = aio.ApiClient(configuration_for(server))
    other = LoopThread()
    try:
        assert other.run(track(client, "other-loop")) == "other-loop"

        async def current_session() -> Any:
            return client.rest_client._session

        session = other.run(current_session())
        assert session is not None and not session.closed
        asyncio.run(client.close())  # from this thread's own, new loop
        other.run(asyncio.sleep(0.1))  # the other loop runs the close it was handed
        assert session.closed
        # That loop can use the client again: it opens a new session.
        assert other.run(track(client, "other-again")) == "other-again"
        assert other.run(current_session()) is not session
        other.run(client.close())
    finally:
        other.stop()


def test_a_call_in_flight_in_the_other_loop_ends_with_an_sdk_exception(
    server: LocalVoucherify,
) -> None:
    client = aio.ApiClient(configuration_for(server))
    other = LoopThread()
    try:
        other.run(track(client, "warm-up"))  # the other loop has its session
        server.inject(faults.delay(3.0))
        in_flight = asyncio.run_coroutine_threadsafe(track(client, "in-flight"), other.loop)
        other.run(asyncio.sleep(0.5))  # the request is out, its reply is 3 s away
        asyncio.run(client.close())
        with pytest.raises(voucherify.ApiTransportException) as caught:
            in_flight.result(WAIT)
        assert caught.value.request_sent is None  # it had been sent
        assert isinstance(caught.value, voucherify.ApiConnectionException), repr(caught.value)
        other.run(client.close())
    finally:
        other.stop()


def test_close_after_the_loop_ended(server: LocalVoucherify) -> None:
    client = aio.ApiClient(configuration_for(server))
    asyncio.run(track(client, "ended"))
    asyncio.run(client.close())
    asyncio.run(client.close())  # twice, from two more loops: harmless
    assert asyncio.run(track(client, "reopened")) == "reopened"
    asyncio.run(client.close())


# pytest-asyncio gives each test function its own loop; one client made outside all of them
# serves both tests below.
SHARED: dict[str, aio.ApiClient] = {}


@pytest.fixture(scope="module")
def shared_client(server: LocalVoucherify) -> Iterator[aio.ApiClient]:
    SHARED["client"] = aio.ApiClient(configuration_for(server))
    yield SHARED["client"]
    asyncio.run(SHARED.pop("client").close())


@pytest.mark.asyncio
async def test_pytest_asyncio_first_function_loop(shared_client: aio.ApiClient) -> None:
    assert await track(shared_client, "pytest-1") == "pytest-1"


@pytest.mark.asyncio
async def test_pytest_asyncio_second_function_loop(shared_client: aio.ApiClient) -> None:
    assert await track(shared_client, "pytest-2") == "pytest-2"
