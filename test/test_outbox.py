"""The outbox in one process: tracking, every delivery state through the local stand-in and
its faults, the operator views, the background worker, caps, the file checks, keys, threads.

Every test runs against a real store (``outbox_target``: each store kind) and the project's
stand-in on 127.0.0.1. Tests that are about the SQLite file itself use a path of their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from outbox_support import (
    body,
    configuration_for,
    free_port,
    local_server,
    outbox_target,  # noqa: F401
    recorded_tags,
    states,
    wait_until,
)

import voucherify
from voucherify.outbox import Outbox, OutboxError, OutboxFullError, State
from voucherify.testing import LocalVoucherify, faults

from conftest import APP_TOKEN

BIG = "x" * (10 * 1024 * 1024)
BAD_BODIES: dict[str, Any] = {
    "none": None,
    "not-an-object": ["event", "x"],
    "a-string": "signed_up",
    "missing-event": {"customer": {"source_id": "c-1"}},
    "over-10-mib": {"event": "e", "customer": {"source_id": "c-1"}, "metadata": {"big": BIG}},
    "nan": {"event": "e", "customer": {"source_id": "c-1"}, "metadata": {"v": math.nan}},
}


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with local_server() as running:
        yield running


@pytest.fixture
def outbox(outbox_target: str, server: LocalVoucherify) -> Iterator[Outbox]:  # noqa: F811
    opened = Outbox(outbox_target, configuration_for(server.url, timeout=(2.0, 0.5)))
    yield opened
    opened.close(timeout=5.0)


def one(outbox: Outbox, event_id: str) -> Any:
    found = [event for event in outbox.events() if event.id == event_id]
    assert len(found) == 1, f"{event_id} is stored {len(found)} times"
    return found[0]


def assert_each_recorded_once(server: LocalVoucherify, tags: list[str]) -> None:
    counts = recorded_tags(server.events)
    assert {tag: counts[tag] for tag in tags} == dict.fromkeys(tags, 1)
    assert all(count == 1 for count in counts.values()), counts


# -- 1. track ------------------------------------------------------------------------------


def test_track_returns_an_id_and_the_event_is_pending_on_disk_at_once(
        outbox: Outbox, outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    event_id = outbox.track(body("a"))
    assert isinstance(event_id, str) and event_id

    other = Outbox(outbox_target, configuration_for(server.url))  # a second opener
    try:
        seen = other.events()
        assert [(event.id, event.state) for event in seen] == [(event_id, State.PENDING)]
        assert seen[0].body == body("a")
        assert seen[0].attempts == 0
        assert other.stats().counts[State.PENDING] == 1
    finally:
        other.close()
    assert server.requests == []  # track itself does no network I/O


def test_a_tracked_event_is_in_the_sqlite_file_for_any_connection(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with Outbox(path, configuration_for("http://127.0.0.1:9")) as opened:
        event_id = opened.track(body("a"))
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT id, state, payload FROM events").fetchall()
        assert [(row[0], row[1]) for row in rows] == [(event_id, "pending")]
        assert json.loads(rows[0][2]) == body("a")


def test_a_sqlite_outbox_refuses_a_callers_transaction(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db", configuration_for("http://127.0.0.1:9")) as opened, \
            sqlite3.connect(tmp_path / "app.db") as connection:
        with pytest.raises(OutboxError, match="PostgreSQL"):
            opened.track(body("a"), connection=connection)
        assert opened.events() == []
    connection.close()


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_a_bad_body_raises_what_track_custom_event_raises_and_stores_nothing(
        outbox: Outbox, server: LocalVoucherify, name: str) -> None:
    bad = BAD_BODIES[name]
    with voucherify.ApiClient(configuration_for(server.url)) as client, \
            pytest.raises(voucherify.OpenApiException) as direct:
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=bad)
    with pytest.raises(voucherify.OpenApiException) as tracked:
        outbox.track(bad)
    assert type(tracked.value) is type(direct.value)
    assert str(tracked.value) == str(direct.value)
    assert outbox.events() == []
    assert outbox.stats().held_events == 0
    assert server.requests == []


def test_track_async_stores_and_checks_like_track(
        outbox: Outbox, server: LocalVoucherify) -> None:
    async def main() -> str:
        for bad in (BAD_BODIES["missing-event"], BAD_BODIES["nan"]):
            try:
                outbox.track(bad)
            except voucherify.OpenApiException as error:
                expected = error
            with pytest.raises(type(expected)) as raised:
                await outbox.track_async(bad)
            assert str(raised.value) == str(expected)
        return await outbox.track_async(body("async"))

    event_id = asyncio.run(main())
    assert states(outbox) == {event_id: State.PENDING}
    assert outbox.deliver().delivered == 1
    assert_each_recorded_once(server, ["async"])


# -- 2. states through the stand-in ---------------------------------------------------------


def test_delivered_keeps_the_customer_id_and_the_request_id(
        outbox: Outbox, server: LocalVoucherify) -> None:
    event_id = outbox.track(body("d"))
    report = outbox.deliver()
    assert (report.delivered, report.rejected, report.unknown, report.retried) == (1, 0, 0, 0)
    event = one(outbox, event_id)
    assert event.state is State.DELIVERED
    assert event.status == 200
    assert event.attempts == 1
    assert event.customer_id == server.events[0]["customer_id"]
    assert event.customer_id.startswith("cust_")
    assert event.request_id is not None and event.request_id.startswith("v-")
    assert event.error is None
    assert_each_recorded_once(server, ["d"])


REJECTED_BODY = {"code": 400, "key": "invalid_payload", "message": "Invalid payload",
                 "details": "Property .metadata should be object",
                 "request_id": "v-0123456789abcdef01"}


@pytest.mark.parametrize("case", ["400-invalid-payload", "404-unknown-customer"])
def test_rejected_keeps_the_error_and_is_never_sent_again(
        outbox: Outbox, server: LocalVoucherify, case: str) -> None:
    if case == "400-invalid-payload":
        server.inject(faults.status(400, body=REJECTED_BODY))
        event_id = outbox.track(body("r"))
        expected = {"status": 400, "key": "invalid_payload",
                    "request_id": REJECTED_BODY["request_id"]}
    else:
        event_id = outbox.track({"event": "e", "customer": {"id": "cust_nobody"},
                                 "metadata": {"tag": "r"}})
        expected = {"status": 404, "key": "not_found"}
    assert outbox.deliver().rejected == 1
    event = one(outbox, event_id)
    assert event.state is State.REJECTED
    assert event.status == expected["status"]
    assert event.error is not None
    assert {name: event.error.get(name) for name in expected} == expected
    calls = len(server.requests)

    outbox.track(body("later"))
    assert outbox.deliver().delivered == 1
    assert outbox.deliver().delivered == 0
    assert len(server.requests) == calls + 1  # only the later event was sent
    assert one(outbox, event_id).state is State.REJECTED
    assert one(outbox, event_id).attempts == 1
    assert recorded_tags(server.events)["r"] == 0


UNKNOWN_FAULTS: dict[str, Callable[[], faults.Fault]] = {
    "reply-lost": faults.drop_after_processing,
    "500": lambda: faults.status(500),
    "read-timeout": lambda: faults.delay(1.5),  # the outbox's read timeout is 0.5 s
    "unreadable-2xx": lambda: faults.raw(status=200, body=b"<html>oops</html>"),
}


@pytest.mark.parametrize("name", sorted(UNKNOWN_FAULTS))
def test_unknown_when_the_api_may_have_recorded_it_and_never_resent(
        outbox: Outbox, server: LocalVoucherify, name: str) -> None:
    server.inject(UNKNOWN_FAULTS[name]())
    event_id = outbox.track(body("u"))
    assert outbox.deliver().unknown == 1
    event = one(outbox, event_id)
    assert event.state is State.UNKNOWN
    assert event.error is not None and event.error["type"]
    if name in ("500", "unreadable-2xx"):
        assert event.status == (500 if name == "500" else 200)
    if name == "read-timeout":  # the stand-in records it once the delay is over
        assert wait_until(lambda: len(server.events) == 1, 5.0)
    outbox.track(body("later"))
    outbox.deliver()
    outbox.deliver()
    assert one(outbox, event_id).state is State.UNKNOWN
    assert one(outbox, event_id).attempts == 1
    assert recorded_tags(server.events)["u"] == (0 if name in ("500", "unreadable-2xx") else 1)
    assert recorded_tags(server.events)["later"] == 1


def test_a_refused_connection_leaves_it_pending_then_it_is_delivered_once_the_api_is_back(
        outbox_target: str) -> None:  # noqa: F811
    port = free_port()
    with Outbox(outbox_target, configuration_for(f"http://127.0.0.1:{port}")) as opened:
        event_id = opened.track(body("p"))
        report = opened.deliver(max_seconds=0.3)
        assert (report.delivered, report.unknown, report.rejected) == (0, 0, 0)
        assert report.retried >= 1
        event = one(opened, event_id)
        assert event.state is State.PENDING and event.attempts >= 1
        assert opened.stats().paused_for > 0  # backing off
        with local_server(port=port) as server:
            report = opened.deliver(max_seconds=10.0)
            assert report.delivered == 1
            assert one(opened, event_id).state is State.DELIVERED
            assert_each_recorded_once(server, ["p"])


def test_a_429_leaves_it_pending_and_delivery_waits_for_the_window(
        outbox: Outbox, server: LocalVoucherify) -> None:
    server.set_rate_limit(1, 1.0)
    with voucherify.ApiClient(configuration_for(server.url)) as client:  # spend the window
        voucherify.EventsApi(client).track_custom_event(events_create_request_body=body("x"))
    event_id = outbox.track(body("p"))
    report = outbox.deliver(max_seconds=0.2)
    assert report.retried == 1 and report.delivered == 0
    assert server.rate_limited == 1
    assert one(outbox, event_id).state is State.PENDING
    assert outbox.stats().paused_for > 0

    assert outbox.deliver(max_seconds=5.0).delivered == 1
    assert one(outbox, event_id).state is State.DELIVERED
    assert server.rate_limited == 1  # it waited out Retry-After instead of trying again
    assert_each_recorded_once(server, ["x", "p"])


def test_refused_keys_keep_it_pending_and_pause_delivery(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    wrong = configuration_for(server.url, app_token="sk_wrong_token_0000")
    with Outbox(outbox_target, wrong) as opened:
        event_id = opened.track(body("k"))
        report = opened.deliver(max_seconds=0.3)
        assert report.retried == 1
        event = one(opened, event_id)
        assert event.state is State.PENDING
        assert event.status == 401
        assert opened.stats().paused_for > 0
        assert [request["status"] for request in server.requests] == [401]  # paused: 1 call
    with Outbox(outbox_target, configuration_for(server.url)) as fixed:
        assert fixed.deliver(max_seconds=5.0).delivered == 1
    assert_each_recorded_once(server, ["k"])


def _one_of_each(outbox: Outbox, server: LocalVoucherify) -> dict[str, str]:
    """An event in each of delivered, rejected, unknown and pending; their ids by state."""
    ids = {"delivered": outbox.track(body("delivered"))}
    outbox.deliver()
    server.inject(faults.status(400, body=REJECTED_BODY))
    ids["rejected"] = outbox.track(body("rejected"))
    outbox.deliver()
    server.inject(faults.status(500))
    ids["unknown"] = outbox.track(body("unknown"))
    outbox.deliver()
    ids["pending"] = outbox.track(body("pending"))
    assert {state.value for state in states(outbox).values()} == set(ids)
    assert {value: states(outbox)[key] for value, key in ids.items()} == {
        name: State(name) for name in ids}
    return ids


def test_resend_moves_only_unknown_and_rejected_back_to_pending(
        outbox: Outbox, server: LocalVoucherify) -> None:
    ids = _one_of_each(outbox, server)
    moved = outbox.resend([ids["delivered"], ids["rejected"], ids["unknown"], ids["pending"],
                           "no-such-id"])
    assert sorted(moved) == sorted([ids["rejected"], ids["unknown"]])
    assert states(outbox)[ids["delivered"]] is State.DELIVERED
    assert outbox.deliver().delivered == 3
    assert set(states(outbox).values()) == {State.DELIVERED}
    assert_each_recorded_once(server, ["delivered", "rejected", "unknown", "pending"])
    with pytest.raises(voucherify.ApiTypeError):
        outbox.resend(ids["unknown"])  # one string, not a list of ids


def test_discard_sets_pending_unknown_and_rejected_aside(
        outbox: Outbox, server: LocalVoucherify) -> None:
    ids = _one_of_each(outbox, server)
    moved = outbox.discard(list(ids.values()))
    assert sorted(moved) == sorted([ids["rejected"], ids["unknown"], ids["pending"]])
    assert states(outbox)[ids["delivered"]] is State.DELIVERED
    assert outbox.resend(list(ids.values())) == []  # discarded is for good
    calls = len(server.requests)
    assert outbox.deliver().delivered == 0
    assert len(server.requests) == calls
    stats = outbox.stats()
    assert stats.counts[State.DISCARDED] == 3 and stats.held_events == 0


def test_purge_deletes_only_old_delivered_and_discarded_events(
        outbox: Outbox, server: LocalVoucherify) -> None:
    ids = _one_of_each(outbox, server)
    discarded = outbox.track(body("discarded"))
    outbox.discard([discarded])
    time.sleep(0.3)  # ages the five events above
    newer = outbox.track(body("newer"))
    outbox.deliver()
    assert outbox.purge(3600) == 0
    assert outbox.purge(0.2) == 2  # the old delivered one and the discarded one
    left = states(outbox)
    assert ids["delivered"] not in left and discarded not in left
    assert left[newer] is State.DELIVERED
    assert {left[ids[name]] for name in ("rejected", "unknown")} == {
        State.REJECTED, State.UNKNOWN}
    assert left[ids["pending"]] is State.DELIVERED  # delivered just now: not old
    assert outbox.purge(0) == 2
    assert set(states(outbox).values()) == {State.REJECTED, State.UNKNOWN}


def test_stats_counts_and_the_oldest_pending_age(outbox: Outbox, server: LocalVoucherify) -> None:
    empty = outbox.stats()
    assert empty.oldest_pending_age is None and empty.held_events == 0
    assert sum(empty.counts.values()) == 0
    _one_of_each(outbox, server)
    outbox.track(body("pending-2"))
    time.sleep(0.2)
    stats = outbox.stats()
    assert {state: stats.counts[state] for state in State} == {
        State.PENDING: 2, State.SENDING: 0, State.DELIVERED: 1, State.REJECTED: 1,
        State.UNKNOWN: 1, State.DISCARDED: 0}
    assert stats.held_events == 4
    assert stats.held_bytes == sum(len(event.payload) for event in outbox.events()
                                   if event.state is not State.DELIVERED)
    assert stats.oldest_pending_age is not None and 0.2 <= stats.oldest_pending_age < 60
    assert json.loads(json.dumps(stats.to_dict()))["counts"]["pending"] == 2
    outbox.deliver()
    assert outbox.stats().oldest_pending_age is None


def test_events_pages_by_state_limit_and_after(outbox: Outbox) -> None:
    ids = [outbox.track(body(str(n))) for n in range(5)]
    assert [event.id for event in outbox.events()] == ids
    assert [event.id for event in outbox.events(limit=2)] == ids[:2]
    assert [event.id for event in outbox.events(limit=2, after=ids[1])] == ids[2:4]
    assert [event.id for event in outbox.events(after=ids[3])] == ids[4:]
    assert outbox.events(limit=0) == []
    outbox.discard([ids[1], ids[3]])
    assert [event.id for event in outbox.events(state="discarded")] == [ids[1], ids[3]]
    assert [event.id for event in outbox.events(State.PENDING, limit=1, after=ids[0])] == [ids[2]]
    assert [event.to_dict()["body"]["metadata"]["tag"] for event in outbox.events()] == [
        "0", "1", "2", "3", "4"]
    with pytest.raises(voucherify.ApiValueError):
        outbox.events(state="lost")


def test_paging_after_a_purged_event_is_refused_rather_than_started_over(
        outbox: Outbox) -> None:
    ids = [outbox.track(body(str(n))) for n in range(3)]
    outbox.discard([ids[1]])
    assert outbox.purge(0) == 1
    with pytest.raises(voucherify.ApiValueError, match="holds no event"):
        outbox.events(limit=2, after=ids[1])
    with pytest.raises(voucherify.ApiValueError, match="holds no event"):
        outbox.events(after="no-such-id")


# -- 3. the background worker, flush, close --------------------------------------------------


def test_start_delivers_in_the_background_and_a_track_wakes_the_worker(
        outbox: Outbox, server: LocalVoucherify) -> None:
    outbox.start()
    outbox.track(body("first"))
    assert wait_until(lambda: outbox.stats().counts[State.DELIVERED] == 1, 5.0)
    for n in range(2):
        time.sleep(0.05)  # the worker is idle now, in its 1 s poll
        outbox.track(body(f"wake-{n}"))
        count = 2 + n
        # Far sooner than the poll would find it: the track woke the worker.
        assert wait_until(lambda count=count: len(server.events) == count, 0.5), \
            "the worker slept on"
        assert wait_until(
            lambda count=count: outbox.stats().counts[State.DELIVERED] == count, 5.0)
    assert_each_recorded_once(server, ["first", "wake-0", "wake-1"])


def test_flush_is_false_while_the_api_is_down_and_true_once_it_is_back(
        outbox_target: str) -> None:  # noqa: F811
    port = free_port()
    with Outbox(outbox_target, configuration_for(f"http://127.0.0.1:{port}")) as opened:
        opened.start()
        ids = [opened.track(body(str(n))) for n in range(3)]
        assert opened.flush(timeout=0.4) is False
        assert set(states(opened).values()) == {State.PENDING}
        with local_server(port=port) as server:
            assert opened.flush(timeout=15.0) is True
            assert states(opened) == dict.fromkeys(ids, State.DELIVERED)
            assert_each_recorded_once(server, ["0", "1", "2"])


def test_flush_without_a_worker_delivers_in_the_calling_thread(
        outbox: Outbox, server: LocalVoucherify) -> None:
    outbox.track(body("f"))
    assert outbox.flush(timeout=5.0) is True
    assert_each_recorded_once(server, ["f"])


def _workers_alive() -> int:
    return sum(thread.name == "voucherify-outbox" for thread in threading.enumerate())


def test_close_stops_the_worker_and_use_after_close_raises(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    before = _workers_alive()
    opened = Outbox(outbox_target, configuration_for(server.url))
    opened.start()
    event_id = opened.track(body("c"))
    assert _workers_alive() == before + 1
    opened.close(timeout=5.0)
    assert _workers_alive() == before
    assert "closed" in repr(opened)
    uses: list[Callable[[], Any]] = [
        lambda: opened.track(body("late")), opened.start, opened.deliver, opened.flush,
        opened.stats, opened.events, lambda: opened.resend([event_id]),
        lambda: opened.discard([event_id]), lambda: opened.purge(0)]
    for use in uses:
        with pytest.raises(OutboxError, match="closed"):
            use()
    opened.close()  # a second close is harmless
    with Outbox(outbox_target, configuration_for(server.url)) as again:
        assert states(again) == {event_id: State.DELIVERED}  # close flushed first
        assert again.stats().workers == 0  # the closed outbox's worker is gone
    assert_each_recorded_once(server, ["c"])


def test_a_with_block_delivers_what_is_pending_and_closes(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    with Outbox(outbox_target, configuration_for(server.url), exit_timeout=5.0) as opened:
        opened.start()
        ids = [opened.track(body(str(n))) for n in range(3)]
    with pytest.raises(OutboxError):
        opened.track(body("late"))
    with Outbox(outbox_target, configuration_for(server.url)) as again:
        assert states(again) == dict.fromkeys(ids, State.DELIVERED)
    assert_each_recorded_once(server, ["0", "1", "2"])


# -- 4. a full outbox ------------------------------------------------------------------------


def test_max_events_refuses_past_the_cap_until_events_are_delivered(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    with Outbox(outbox_target, configuration_for(server.url), max_events=2) as opened:
        opened.track(body("1"))
        opened.track(body("2"))
        with pytest.raises(OutboxFullError, match="max_events=2"):
            opened.track(body("3"))
        assert opened.stats().held_events == 2 and len(opened.events()) == 2
        assert opened.deliver().delivered == 2
        opened.track(body("3"))
        opened.track(body("4"))
        with pytest.raises(OutboxFullError):
            opened.track(body("5"))
    assert recorded_tags(server.events)["3"] == 0  # the refused one was never stored


def test_max_bytes_refuses_past_the_cap_until_events_are_discarded(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    with Outbox(outbox_target, configuration_for(server.url)) as probe:
        probe.discard([probe.track(body("0"))])  # every body("<digit>") is this long
        size = len(probe.events()[0].payload)
    with Outbox(outbox_target, configuration_for(server.url), max_bytes=2 * size + size // 2
                ) as opened:
        first = opened.track(body("1"))
        opened.track(body("2"))
        with pytest.raises(OutboxFullError, match="max_bytes") as full:
            opened.track(body("3"))
        assert isinstance(full.value, OutboxError)
        assert opened.stats().counts[State.PENDING] == 2
        opened.discard([first])
        opened.track(body("3"))
        assert opened.stats().counts[State.PENDING] == 2
        assert opened.stats().held_bytes == 2 * size


# -- 5. the file -----------------------------------------------------------------------------


def _other_app_db(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
        db.execute("INSERT INTO notes VALUES ('mine')")
    sqlite3.connect(path).close()


def _newer_outbox(path: Path) -> None:
    Outbox(path, configuration_for("http://127.0.0.1:9")).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()


FOREIGN_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "text": (lambda path: path.write_text("order,amount\n1,20\n"), "not an outbox"),
    "random-bytes": (lambda path: path.write_bytes(os.urandom(8192)), "not an outbox"),
    "another-apps-db": (_other_app_db, "something else"),
    "newer-outbox": (_newer_outbox, "newer release"),
}


@pytest.mark.parametrize("name", sorted(FOREIGN_FILES))
def test_a_file_that_is_not_this_releases_outbox_is_refused_unchanged(
        tmp_path: Path, name: str) -> None:
    path = tmp_path / "file.db"
    make, message = FOREIGN_FILES[name]
    make(path)
    before = path.read_bytes()
    with pytest.raises(OutboxError, match=message) as raised:
        Outbox(path, configuration_for("http://127.0.0.1:9"))
    assert str(path) in str(raised.value)
    assert path.read_bytes() == before


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutboxError, match="folder"):
        Outbox(tmp_path, configuration_for("http://127.0.0.1:9"))


def test_a_new_outbox_file_is_readable_by_its_owner_alone(
        tmp_path: Path, server: LocalVoucherify) -> None:
    path = tmp_path / "new.db"
    old = os.umask(0o022)
    try:
        with Outbox(path, configuration_for(server.url)) as opened:
            opened.track(body("a"))
            opened.start()
            assert opened.flush(5.0)
            opened.track(body("b"))  # the worker is registered and the WAL is in use now
            modes = {item.name: item.stat().st_mode & 0o777 for item in tmp_path.rglob("*")}
    finally:
        os.umask(old)
    workers = modes.pop("new.db-workers")
    assert workers == 0o700
    assert {"new.db", "new.db-wal", "new.db-shm", "write.lock"} <= set(modes)
    assert len(modes) == 5  # the three files, the writers' lock and the worker's lock file
    assert set(modes.values()) == {0o600}, modes
    assert path.stat().st_mode & 0o777 == 0o600


# -- 6. keys ---------------------------------------------------------------------------------


def _all_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_keys_are_never_stored_or_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                        ) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [APP_TOKEN.encode(), b"sk_wrong_token_0000"]
    path = tmp_path / "outbox.db"
    with local_server() as server:
        opened = Outbox(path, configuration_for(server.url, timeout=(2.0, 0.5)))
        opened.start()
        shown = [repr(opened)]
        opened.track(body("delivered"))
        assert opened.flush(5.0)
        for fault in (faults.status(400, body=REJECTED_BODY), faults.status(500),
                      faults.drop_after_processing(), faults.delay(1.0)):
            server.inject(fault)
            opened.track(body(fault.name))
            assert opened.flush(5.0)
        capped = Outbox(path, configuration_for(server.url), max_events=1)
        with pytest.raises(OutboxFullError) as full:
            capped.track(body("full"))
        capped.close()
        shown += [repr(opened), str(full.value), repr(full.value)]
        assert {event.state for event in opened.events()} == {
            State.DELIVERED, State.REJECTED, State.UNKNOWN}
        opened.close()  # its worker would deliver the next event with the right key
        wrong = Outbox(path, configuration_for(server.url, app_token="sk_wrong_token_0000"))
        wrong.track(body("refused"))
        wrong.deliver(max_seconds=0.2)
        shown += [repr(wrong), json.dumps([event.to_dict() for event in wrong.events()])]
        assert {event.state for event in wrong.events()} == {
            State.DELIVERED, State.REJECTED, State.UNKNOWN, State.PENDING}
        assert [request["status"] for request in server.requests][-1] == 401
        on_disk = _all_bytes(tmp_path)  # the file, its -wal and the -workers folder, open
        assert any(name.endswith("-wal") for name in on_disk)
        assert any("-workers" in name for name in on_disk)
        wrong.close()
    on_disk.update({name + " (closed)": data for name, data in _all_bytes(tmp_path).items()})
    shown.append(caplog.text)
    assert "unknown" in caplog.text and "refused the keys" in caplog.text
    for secret in secrets:
        for name, data in on_disk.items():
            assert secret not in data, name
        for text in shown:
            assert secret.decode() not in text


# -- 7. threads ------------------------------------------------------------------------------


def test_eight_threads_tracking_while_the_worker_delivers(
        outbox: Outbox, server: LocalVoucherify) -> None:
    outbox.start()
    ids: list[list[str]] = [[] for _ in range(8)]
    go = threading.Barrier(8)

    def track(n: int) -> None:
        go.wait()
        for k in range(25):
            ids[n].append(outbox.track(body(f"{n}-{k}")))

    threads = [threading.Thread(target=track, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_ids = [event_id for chunk in ids for event_id in chunk]
    assert len(set(all_ids)) == 200
    assert outbox.flush(timeout=30.0) is True
    assert states(outbox) == dict.fromkeys(all_ids, State.DELIVERED)
    assert_each_recorded_once(server, [f"{n}-{k}" for n in range(8) for k in range(25)])
