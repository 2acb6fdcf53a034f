"""Bulk outcomes under hostile input and replies: bad items, unreadable 2xx replies, waits
demanded beyond ``max_wait``, settings the SDK refuses, earlier refusals, the journal lock."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pytest

import voucherify
from voucherify.bulk import (
    BulkResult,
    ItemResult,
    Journal,
    JournalInUseError,
    Outcome,
    check_item,
    item_key,
    track_events,
)
from voucherify.bulk._journal import read_entries
from voucherify.retry import RetryPolicy
from voucherify.testing import LocalVoucherify, faults


def rows(count: int, start: int = 0) -> list[Any]:
    return [
        {"event": "imported", "customer": {"source_id": f"c{n}"}, "metadata": {"row": n}}
        for n in range(start, start + count)
    ]


def api_for(server: LocalVoucherify, **settings: Any) -> voucherify.EventsApi:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = server.app_token
    for name, value in settings.items():
        setattr(configuration, name, value)
    return voucherify.EventsApi(voucherify.ApiClient(configuration))


def rows_on_server(server: LocalVoucherify) -> Counter[int]:
    return Counter(e["body"]["metadata"]["row"] for e in server.events)


def states(journal: Path) -> dict[str, str]:
    return {entry["key"]: entry["state"] for entry in read_entries(journal)}


def bounded_run(seconds: float = 30.0, **kwargs: Any) -> BulkResult:
    """``track_events(**kwargs)`` in a thread: a run that would wait without end fails."""
    done: dict[str, Any] = {}

    def work() -> None:
        try:
            done["result"] = track_events(**kwargs)
        except BaseException as error:
            done["error"] = error

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the run did not end within {seconds}s"
    if "error" in done:
        raise done["error"]
    return done["result"]  # type: ignore[no-any-return]


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as running:
        yield running


def _cycle() -> Any:
    body: dict[str, Any] = {"event": "e", "customer": {"source_id": "c"}}
    body["metadata"] = {"self": body}
    return body


def _deep() -> Any:
    nested: list[Any] = []
    innermost = nested
    for _ in range(100_000):
        inner: list[Any] = []
        innermost.append(inner)
        innermost = inner
    return {"event": "e", "customer": {"source_id": "c"}, "metadata": {"deep": nested}}


BAD_ITEMS = {
    "None": lambda: None,
    "a string": lambda: "signed_up",
    "a list": lambda: [{"event": "e"}],
    "a number": lambda: 42,
    "a cycle": _cycle,
    "mixed-type keys": lambda: {"event": "e", "customer": {"source_id": "c"},
                                "metadata": {1: "a", "b": 2}},
    "mixed-type keys at the top": lambda: {1: "a", "event": "e", "customer": {}},
    "nested 100,000 deep": _deep,
    "a NaN": lambda: {"event": "e", "customer": {"source_id": "c"},
                      "metadata": {"x": float("nan")}},
    "over 10 MiB": lambda: {"event": "e", "customer": {"source_id": "c"},
                            "metadata": {"x": "a" * (10 * 1024 * 1024 + 1)}},
}


@pytest.mark.parametrize("name", list(BAD_ITEMS))
def test_one_bad_item_is_invalid_and_the_run_goes_on(
    server: LocalVoucherify, tmp_path: Path, name: str
) -> None:
    journal = tmp_path / "run.journal"
    items = rows(6)
    items[2] = BAD_ITEMS[name]()
    results: dict[int, ItemResult] = {}

    result = bounded_run(events_api=api_for(server), items=items, concurrency=2,
                         journal=journal,
                         on_result=lambda item: results.__setitem__(item.index, item))

    assert result.stopped is None and result.settings_error is None
    assert results[2].outcome is Outcome.INVALID
    assert isinstance(results[2].error, (voucherify.ApiValueError, voucherify.ApiTypeError))
    assert [item.index for item in result.rejected] == [2]
    assert result.counts[Outcome.SENT] == 5
    assert rows_on_server(server) == Counter([0, 1, 3, 4, 5])
    assert states(journal)[results[2].key] == "invalid"


@pytest.mark.parametrize("name", [*BAD_ITEMS, "a huge int"])
def test_item_key_and_check_item_never_raise_and_are_stable(name: str) -> None:
    make = BAD_ITEMS.get(name) or (lambda: {"event": "e", "customer": {"source_id": "c"},
                                            "metadata": {"n": 10 ** 5000}})
    first, second = make(), make()
    assert item_key(7, first) == item_key(7, second)
    assert item_key(7, first).startswith("7:")
    problem = check_item(first)
    if name != "a huge int":  # the SDK's model sends such an int; the check says so
        assert isinstance(problem, (voucherify.ApiValueError, voucherify.ApiTypeError))


def test_no_bad_item_message_echoes_a_value() -> None:
    secret = "sk_secret_value_never_echoed"
    body = {"event": secret * 20, "customer": {"source_id": secret}, "metadata": {1: secret}}
    problem = check_item(body)
    assert problem is not None and secret not in str(problem)


@pytest.mark.parametrize("reply", [
    faults.raw(200, b"<html>a proxy's page</html>", "text/html"),
    faults.status(200, body=b'{"object": "event"}'),  # JSON, but no customer
])
def test_a_2xx_whose_body_cannot_be_read_is_sent_never_rejected(
    server: LocalVoucherify, tmp_path: Path, reply: faults.Fault
) -> None:
    journal = tmp_path / "run.journal"
    server.inject(reply, path="/v1/events")
    results: dict[int, ItemResult] = {}

    first = track_events(api_for(server), rows(3), concurrency=1, journal=journal,
                         on_result=lambda item: results.__setitem__(item.index, item))
    again = track_events(api_for(server), rows(3), concurrency=1, journal=journal)

    assert results[0].outcome is Outcome.SENT
    assert isinstance(results[0].error, voucherify.InvalidResponseException)
    assert results[0].customer_id is None
    assert first.counts[Outcome.SENT] == 3 and first.rejected == [] and first.ok
    assert states(journal)[results[0].key] == "sent"
    assert again.counts[Outcome.SKIPPED] == 3, "a recorded event is never sent again"
    assert len(server.requests) == 3


FAR = str(int(time.time()) + 10 ** 7)


@pytest.mark.parametrize("headers", [
    {"Retry-After": "inf"},
    {"X-Rate-Limit-Retry": "inf"},
    {"Retry-After": "1e400"},
    {"Retry-After": "9" * 400},
    {"Retry-After": "3600"},
    {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
    {"X-Rate-Limit-Retry": FAR},
    {"X-Rate-Limit-Retry": "1e400", "X-Rate-Limit-Remaining": "0"},
])
def test_a_429_demanding_a_wait_over_max_wait_ends_the_item_and_stops_the_run(
    server: LocalVoucherify, tmp_path: Path, headers: dict[str, str]
) -> None:
    journal = tmp_path / "run.journal"
    server.inject(faults.status(429, headers=headers), path="/v1/events")
    results: dict[int, ItemResult] = {}

    result = bounded_run(events_api=api_for(server), items=rows(20), concurrency=1,
                         journal=journal,
                         on_result=lambda item: results.__setitem__(item.index, item))

    assert results[0].outcome is Outcome.NOT_SENT
    assert isinstance(results[0].error, voucherify.TooManyRequestsException)
    assert result.stopped is not None and "max_wait (60s)" in result.stopped
    assert result.total < 20 and server.events == []
    assert states(journal)[results[0].key] == "not_sent"
    rerun = bounded_run(events_api=api_for(server), items=rows(20), concurrency=2,
                        journal=journal)
    assert rerun.counts[Outcome.SENT] == 20 and rerun.ok


def test_a_nan_wait_is_read_as_no_wait_and_the_run_ends(server: LocalVoucherify) -> None:
    # voucherify.rate_limit reads "nan" as 0 seconds, for a single call and bulk alike.
    server.inject(faults.status(429, headers={"Retry-After": "nan"}), path="/v1/events")
    result = bounded_run(events_api=api_for(server), items=rows(3), concurrency=1)
    assert result.counts[Outcome.SENT] == 3 and result.rate_limited == 1


def test_the_pacer_waits_for_a_window_no_longer_than_max_wait(server: LocalVoucherify) -> None:
    # A reply that says the window is used up until a far-future time: the pacer holds back
    # for max_wait at most, then sends (a 429 then would stop the run instead).
    window_shut = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Retry": FAR}
    server.inject(faults.status(200, headers=window_shut), path="/v1/events")
    policy = RetryPolicy(max_wait=0.5)

    result = bounded_run(events_api=api_for(server, retries=policy), items=rows(4),
                         concurrency=1)

    assert result.counts[Outcome.SENT] == 4 and result.stopped is None
    assert rows_on_server(server) == Counter([1, 2, 3])  # the first reply was the fault's


def test_a_host_the_sdk_refuses_stops_the_run_with_nothing_read_or_journaled(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.journal"
    read: list[int] = []

    def items() -> Iterator[Any]:
        for n, row in enumerate(rows(10)):
            read.append(n)
            yield row

    configuration = voucherify.Configuration(host="http://events.example")  # keys in clear
    configuration.api_key.update({"X-App-Id": "a", "X-App-Token": "b"})
    with voucherify.ApiClient(configuration) as client:
        result = track_events(voucherify.EventsApi(client), items(), journal=journal)

    assert result.stopped is not None
    assert result.stopped.startswith("the SDK refused the settings:")
    assert isinstance(result.settings_error, voucherify.ApiValueError)
    assert result.total == 0 and read == []
    assert list(read_entries(journal)) == []


def test_settings_refused_mid_run_stop_it_and_leave_nothing_unknown(
    server: LocalVoucherify, tmp_path: Path
) -> None:
    journal = tmp_path / "run.journal"
    api = api_for(server)

    def on_result(item: ItemResult) -> None:
        if item.index == 4:  # a key that no header may carry: refused before sending
            api.api_client.configuration.api_key["X-App-Token"] = "broken\nkey"

    result = track_events(api, rows(50), concurrency=1, journal=journal, on_result=on_result)

    assert isinstance(result.settings_error, voucherify.ApiValueError)
    assert result.stopped is not None and "refused the settings" in result.stopped
    assert "broken" not in result.stopped
    assert result.counts[Outcome.SENT] == 5 and result.counts[Outcome.NOT_SENT] == 1
    assert set(states(journal).values()) == {"sent", "not_sent"}


def test_earlier_refusals_count_as_refused_again_not_as_skipped(
    server: LocalVoucherify, tmp_path: Path
) -> None:
    journal = tmp_path / "run.journal"
    items = rows(5)
    items[1]["customer"] = {"id": "cust_nobody"}  # the API says 404
    items[3] = None                                # invalid
    first = track_events(api_for(server), items, concurrency=1, journal=journal)
    requests = len(server.requests)

    again: dict[int, ItemResult] = {}
    second = track_events(api_for(server), items, concurrency=2, journal=journal,
                          on_result=lambda item: again.__setitem__(item.index, item))

    assert first.counts[Outcome.REJECTED] == 1 and first.counts[Outcome.INVALID] == 1
    assert len(server.requests) == requests, "nothing is sent again"
    assert second.counts[Outcome.SKIPPED] == 3
    assert second.counts[Outcome.REJECTED] == 1 and second.counts[Outcome.INVALID] == 1
    assert again[1].outcome is Outcome.REJECTED and again[1].earlier
    assert again[3].outcome is Outcome.INVALID and again[3].earlier
    assert not again[0].earlier or again[0].outcome is Outcome.SKIPPED
    assert {item.index for item in second.rejected} == {1, 3}
    assert not second.ok


def test_a_journal_in_use_by_another_run_is_refused_before_anything_is_sent(
    server: LocalVoucherify, tmp_path: Path
) -> None:
    journal_path = tmp_path / "run.journal"
    holder = Journal(journal_path)
    try:
        with pytest.raises(JournalInUseError, match="in use by another run"):
            track_events(api_for(server), rows(3), journal=journal_path)
        assert server.requests == []
        # The holder's own run may use it: a Journal passed in is used and left open.
        result = track_events(api_for(server), rows(3), journal=holder)
        assert result.counts[Outcome.SENT] == 3
        holder.record("extra", "sent")
    finally:
        holder.close()
    again = track_events(api_for(server), rows(3), journal=journal_path)
    assert again.counts[Outcome.SKIPPED] == 3


def test_journal_in_use_error_survives_pickle() -> None:
    import pickle

    error = JournalInUseError("/tmp/some.journal")
    copy: Optional[JournalInUseError] = pickle.loads(pickle.dumps(error))
    assert copy is not None and copy.path == error.path and str(copy) == str(error)
    assert json.dumps(str(copy))
