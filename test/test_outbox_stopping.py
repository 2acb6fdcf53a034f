"""Ending delivery while a call is in flight: the call ends and is recorded, never given up.

The stand-in delays its reply, so the stop (a ``stop`` event, or ``close()`` from another
thread) lands while the event is ``sending``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from voucherify import Configuration
from voucherify.exceptions import ApiValueError
from voucherify.outbox import DeliveryReport, Outbox, State
from voucherify.testing import LocalVoucherify, faults

from conftest import MINIMAL_BODY


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as server:
        yield server


def _configuration(server: LocalVoucherify) -> Configuration:
    configuration = Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    return configuration


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    until = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < until, "timed out"
        time.sleep(0.01)


def _deliver_in_thread(outbox: Outbox, **kwargs: Any) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(outbox.deliver(**kwargs))
        except BaseException as error:
            results.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


def _sending(outbox: Outbox) -> bool:
    return outbox.stats().counts[State.SENDING] == 1


def test_a_stop_event_ends_a_following_delivery_after_the_call_in_flight(
    tmp_path: Path, server: LocalVoucherify
) -> None:
    server.inject(faults.delay(0.8))
    with Outbox(tmp_path / "outbox.db", _configuration(server)) as outbox:
        event_id = outbox.track(MINIMAL_BODY)
        stop = threading.Event()
        thread, results = _deliver_in_thread(outbox, follow=True, stop=stop)
        _wait_for(lambda: _sending(outbox))
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
        assert isinstance(results[0], DeliveryReport) and results[0].delivered == 1
        assert outbox.events()[0].id == event_id
        assert outbox.events()[0].state is State.DELIVERED
        assert len(server.events) == 1


def test_close_from_another_thread_lets_the_call_in_flight_end_delivered(
    tmp_path: Path, server: LocalVoucherify
) -> None:
    server.inject(faults.delay(0.8))
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, _configuration(server))
    outbox.track(MINIMAL_BODY)
    thread, results = _deliver_in_thread(outbox, follow=True)
    _wait_for(lambda: _sending(outbox))
    outbox.close(timeout=5)
    thread.join(10)
    assert isinstance(results[0], DeliveryReport) and results[0].delivered == 1
    with Outbox(path) as reopened:
        assert [event.state for event in reopened.events()] == [State.DELIVERED]
    assert len(server.events) == 1


def test_close_of_a_running_worker_waits_for_its_call_then_stops(
    tmp_path: Path, server: LocalVoucherify
) -> None:
    server.inject(faults.delay(0.8))
    path = tmp_path / "outbox.db"
    outbox = Outbox(path, _configuration(server))
    outbox.start()
    outbox.track(MINIMAL_BODY)
    _wait_for(lambda: _sending(outbox))
    outbox.close(timeout=5)
    assert not any(t.name == "voucherify-outbox" and t.is_alive() for t in threading.enumerate())
    with Outbox(path) as reopened:
        assert [event.state for event in reopened.events()] == [State.DELIVERED]


def test_deliver_refuses_settings_the_sdk_refuses_before_claiming_anything(
    tmp_path: Path,
) -> None:
    configuration = Configuration(host="http://api.example.com")  # plain http off this host
    configuration.api_key["X-App-Id"] = "app"
    configuration.api_key["X-App-Token"] = "token"
    with Outbox(tmp_path / "outbox.db", configuration) as outbox:
        outbox.track(MINIMAL_BODY)
        with pytest.raises(ApiValueError):
            outbox.deliver(max_seconds=1)
        with pytest.raises(ApiValueError):
            outbox.start()
        assert [event.state for event in outbox.events()] == [State.PENDING]
        assert outbox.events()[0].attempts == 0


def test_deliver_takes_only_an_event_as_stop(tmp_path: Path) -> None:
    from voucherify.exceptions import ApiTypeError

    with Outbox(tmp_path / "outbox.db") as outbox, pytest.raises(ApiTypeError, match="stop"):
        outbox.deliver(stop=True)  # type: ignore[arg-type]
