"""The outbox on PostgreSQL, against a real server (test/pg_cluster.py) and the stand-in.

What only PostgreSQL has: tracking inside the app's own transaction, a fleet of processes
each with its own connection sharing one outbox and one rate limit, liveness through
advisory locks, the schema record. The tests every store must pass take ``outbox_target``
in test_outbox.py and test_outbox_processes.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Iterator

import pg_cluster
import psycopg
import pytest
from pg_cluster import wait_for

from voucherify.exceptions import ApiTypeError, ApiValueError
from voucherify.outbox import Outbox, OutboxError, OutboxFullError, State
from voucherify.outbox._outbox import open_store
from voucherify.outbox._postgres import PostgresStore, is_postgres_target
from voucherify.outbox._sqlite import SQLiteStore
from voucherify.outbox._store import Claim, Finish
from voucherify.testing import LocalVoucherify, faults

from conftest import APP_ID, APP_TOKEN, make_configuration

pg_server = pg_cluster.pg_server
pg_url = pg_cluster.pg_url

# A "machine": its own process and its own connection to the outbox. It tracks the events
# it is told to, says "ready", waits for "go" on stdin, then delivers until stopped.
MACHINE = r"""
import os, sys, voucherify
from voucherify.outbox import Outbox
configuration = voucherify.Configuration(host=os.environ["STANDIN_URL"])
configuration.api_key["X-App-Id"] = os.environ["STANDIN_APP_ID"]
configuration.api_key["X-App-Token"] = os.environ["STANDIN_APP_TOKEN"]
outbox = Outbox(os.environ["OUTBOX_URL"], configuration)
name = sys.argv[1]
for i in range(int(sys.argv[2])):
    outbox.track({"event": "order_paid", "customer": {"source_id": f"{name}-{i}"}})
print("ready", flush=True)
sys.stdin.readline()
outbox.deliver(follow=True, max_seconds=float(sys.argv[3]))
print("done", flush=True)
outbox.close(1.0)
"""


def body(source_id: str, event: str = "order_paid") -> dict[str, Any]:
    return {"event": event, "customer": {"source_id": source_id}}


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(app_id=APP_ID, app_token=APP_TOKEN) as running:
        yield running


@pytest.fixture
def outbox(pg_url: str, server: LocalVoucherify) -> Iterator[Outbox]:
    with Outbox(pg_url, make_configuration(server.url)) as opened:
        yield opened


def machine(url: str, server: LocalVoucherify, name: str, count: int, seconds: float
            ) -> subprocess.Popen[str]:
    env = dict(os.environ, OUTBOX_URL=url, STANDIN_URL=server.url, STANDIN_APP_ID=APP_ID,
               STANDIN_APP_TOKEN=APP_TOKEN)
    return subprocess.Popen([sys.executable, "-c", MACHINE, name, str(count), str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, args or None)
        return cursor.fetchall() if cursor.description else []


# -- choosing the store ----------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "postgresql://u@h/db", "postgres://h/db", "POSTGRESQL://h", "host=127.0.0.1 dbname=x",
    " dbname=app", "user=me host=/tmp"])
def test_postgres_targets_are_recognised(target: str) -> None:
    assert is_postgres_target(target)


@pytest.mark.parametrize("target", ["outbox.db", "/var/lib/app/outbox", "postgresql.db",
                                    "./host=x", "my=file"])
def test_paths_stay_sqlite(target: str) -> None:
    assert not is_postgres_target(target)


def test_open_store_dispatches(pg_url: str, tmp_path: Any) -> None:
    store = open_store(pg_url, 10, 1000)
    try:
        assert isinstance(store, PostgresStore)
    finally:
        store.close()
    path_store = open_store(tmp_path / "x.db", 10, 1000)
    try:
        assert isinstance(path_store, SQLiteStore)
    finally:
        path_store.close()


# -- the app's own transaction ---------------------------------------------------------------

def test_rollback_leaves_nothing(outbox: Outbox, pg_url: str, server: LocalVoucherify) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, paid boolean)")
        conn.commit()
        conn.execute("INSERT INTO orders VALUES (1, true)")
        event_id = outbox.track(body("c-1"), connection=conn)
        assert outbox.events() == []  # not committed: nobody else sees it
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    assert outbox.events() == []
    assert outbox.stats().held_events == 0
    report = outbox.deliver()
    assert report.delivered == 0
    assert server.events == []
    assert event_id not in {event.id for event in outbox.events()}


def test_commit_makes_the_event_deliverable(outbox: Outbox, pg_url: str,
                                            server: LocalVoucherify) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, paid boolean)")
        conn.execute("INSERT INTO orders VALUES (1, true)")
        event_id = outbox.track(body("c-2"), connection=conn)
        assert outbox.deliver().delivered == 0  # still inside the app's transaction
        conn.commit()
    [event] = outbox.events()
    assert (event.id, event.state) == (event_id, State.PENDING)
    assert outbox.deliver().delivered == 1
    assert [(e["event"], e["body"]["customer"]["source_id"]) for e in server.events] == [
        ("order_paid", "c-2")]
    [event] = outbox.events()
    assert event.state is State.DELIVERED and event.customer_id.startswith("cust_")


def test_a_background_worker_sees_the_event_once_committed(
        outbox: Outbox, pg_url: str, server: LocalVoucherify) -> None:
    outbox.start()
    with psycopg.connect(pg_url) as conn:
        outbox.track(body("c-3"), connection=conn)
        conn.commit()
    wait_for(lambda: len(server.events) == 1, 10, "the committed event to be delivered")
    assert outbox.flush(10)


def test_bad_body_stores_nothing_and_leaves_the_transaction_usable(
        outbox: Outbox, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        with pytest.raises(ApiValueError):
            outbox.track({"customer": {"source_id": "x"}}, connection=conn)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        conn.commit()
    assert outbox.events() == []


def test_the_connection_must_be_psycopg_to_the_same_database(
        outbox: Outbox, pg_server: str, tmp_path: Any) -> None:
    with pytest.raises(ApiTypeError, match="psycopg"):
        outbox.track(body("c"), connection=object())

    async def track_through_an_async_connection() -> None:
        async with await psycopg.AsyncConnection.connect(pg_server) as conn:
            outbox.track(body("c"), connection=conn)

    with pytest.raises(ApiTypeError, match="AsyncConnection"):
        asyncio.run(track_through_an_async_connection())
    with psycopg.connect(pg_server) as other, pytest.raises(OutboxError, match="database"):
        outbox.track(body("c"), connection=other)
    with Outbox(str(tmp_path / "o.db")) as local, psycopg.connect(pg_server) as conn, \
            pytest.raises(OutboxError, match="PostgreSQL"):
        local.track(body("c"), connection=conn)


def test_cap_counts_committed_events_and_frees_delivered_ones(
        pg_url: str, server: LocalVoucherify) -> None:
    with Outbox(pg_url, make_configuration(server.url), max_events=2) as outbox:
        outbox.track(body("a"))
        with psycopg.connect(pg_url) as conn:
            outbox.track(body("b"), connection=conn)
            with pytest.raises(OutboxFullError):  # its own transaction sees its own event
                outbox.track(body("c"), connection=conn)
            conn.rollback()
        outbox.track(body("b2"))
        with pytest.raises(OutboxFullError):
            outbox.track(body("c"))
        assert outbox.stats().held_events == 2
        assert outbox.deliver().delivered == 2
        assert outbox.stats().held_events == 0
        outbox.track(body("d"))
        outbox.track(body("e"))
        assert outbox.stats().held_events == 2


def test_open_transactions_can_pass_the_cap_by_what_they_hold_together(pg_url: str) -> None:
    # The documented accuracy: open transactions do not see each other's events.
    with Outbox(pg_url, max_events=1) as outbox:
        first, second = psycopg.connect(pg_url), psycopg.connect(pg_url)
        try:
            outbox.track(body("t1"), connection=first)
            outbox.track(body("t2"), connection=second)
            first.commit()
            second.commit()
        finally:
            first.close()
            second.close()
        assert outbox.stats().held_events == 2
        with pytest.raises(OutboxFullError):  # committed ones are always seen
            outbox.track(body("t3"))
        assert len(outbox.events()) == 2


def test_cap_deltas_fold_without_changing_the_counts(pg_url: str) -> None:
    with Outbox(pg_url) as outbox:
        ids = [outbox.track(body(f"s{i}")) for i in range(300)]  # folds after 256
        assert outbox.discard(ids[:100]) == ids[:100]
        assert sql(pg_url, "SELECT count(*) FROM voucherify_outbox_held")[0][0] < 150
        outbox._store.reap()  # folds too
        assert sql(pg_url, "SELECT count(*) FROM voucherify_outbox_held") == [(1,)]
        stats = outbox.stats()
        assert stats.held_events == 200
        assert stats.held_bytes == sum(len(e.payload) for e in outbox.events(State.PENDING))


def test_tracking_in_a_long_transaction_does_not_block_others(
        outbox: Outbox, pg_url: str) -> None:
    with psycopg.connect(pg_url) as slow:
        outbox.track(body("slow"), connection=slow)  # held open meanwhile
        with psycopg.connect(pg_url) as other:
            other.execute("SET lock_timeout = '2s'")  # blocking would fail, not hang
            outbox.track(body("other"), connection=other)
            other.commit()
        outbox.track(body("own"))
        assert {e.body["customer"]["source_id"] for e in outbox.events()} == {"other", "own"}
        slow.commit()
    assert len(outbox.events()) == 3


def test_repeatable_read_transactions_track_without_conflicts(
        outbox: Outbox, pg_url: str) -> None:
    first = psycopg.connect(pg_url)
    second = psycopg.connect(pg_url)
    try:
        for conn in (first, second):
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.execute("SELECT 1")
        outbox.track(body("r1"), connection=first)
        outbox.track(body("r2"), connection=second)
        outbox.track(body("plain"))
        first.commit()
        outbox.track(body("r2b"), connection=second)
        second.commit()
    finally:
        first.close()
        second.close()
    assert len(outbox.events()) == 4
    assert outbox.stats().held_events == 4


# -- the schema ------------------------------------------------------------------------------

def test_schema_is_created_once_by_many_openers_at_once(pg_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def open_one() -> None:
        try:
            barrier.wait()
            Outbox(pg_url).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sql(pg_url, "SELECT application, version FROM voucherify_outbox_schema") == [
        ("voucherify-outbox", 1)]
    assert sql(pg_url, "SELECT count(*) FROM voucherify_outbox_shared") == [(1,)]


def test_the_apps_own_tables_are_left_alone(pg_url: str) -> None:
    sql(pg_url, "CREATE TABLE orders (id int); INSERT INTO orders VALUES (7)")
    with Outbox(pg_url) as outbox:
        outbox.track(body("x"))
    assert sql(pg_url, "SELECT id FROM orders") == [(7,)]


def _tables(url: str) -> list[tuple[Any, ...]]:
    return sql(url, "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' ORDER BY 1")


def test_a_newer_schema_is_refused_and_nothing_changed(pg_url: str) -> None:
    with Outbox(pg_url) as outbox:
        event_id = outbox.track(body("x"))
    sql(pg_url, "UPDATE voucherify_outbox_schema SET version = 99")
    before = _tables(pg_url)
    with pytest.raises(OutboxError, match=r"newer release \(schema 99"):
        Outbox(pg_url)
    assert _tables(pg_url) == before
    assert sql(pg_url, "SELECT version FROM voucherify_outbox_schema") == [(99,)]
    assert sql(pg_url, "SELECT id, state FROM voucherify_outbox_events") == [
        (event_id, "pending")]


def test_tables_of_something_else_are_refused_and_left_alone(pg_url: str) -> None:
    sql(pg_url, "CREATE TABLE voucherify_outbox_events (note text); "
                "INSERT INTO voucherify_outbox_events VALUES ('mine')")
    with pytest.raises(OutboxError, match=r"not an outbox's\. Nothing was changed"):
        Outbox(pg_url)
    assert _tables(pg_url) == [("voucherify_outbox_events",)]
    assert sql(pg_url, "SELECT note FROM voucherify_outbox_events") == [("mine",)]


def test_a_schema_table_of_another_application_is_refused(pg_url: str) -> None:
    sql(pg_url, "CREATE TABLE voucherify_outbox_schema (id int, application text, version int);"
                "INSERT INTO voucherify_outbox_schema VALUES (1, 'something-else', 1)")
    with pytest.raises(OutboxError, match="something else"):
        Outbox(pg_url)
    assert _tables(pg_url) == [("voucherify_outbox_schema",)]


def test_no_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(OutboxError) as info:
        Outbox("postgresql://app:hunter2secret@127.0.0.1:1/app?connect_timeout=2")
    assert "cannot connect" in str(info.value)
    assert "hunter2secret" not in str(info.value)


# -- workers ---------------------------------------------------------------------------------

def _states(url: str) -> dict[str, str]:
    return dict(sql(url, "SELECT id, state FROM voucherify_outbox_events"))  # type: ignore


def test_a_killed_workers_claim_becomes_unknown_and_a_live_ones_is_never_taken(
        pg_url: str, server: LocalVoucherify) -> None:
    server.inject(faults.delay(4.0), times=2)  # both machines' first calls hang
    with Outbox(pg_url) as setup:
        for i in range(2):
            setup.track(body(f"k{i}"))
    victim = machine(pg_url, server, "victim", 0, 30)
    survivor = machine(pg_url, server, "survivor", 0, 30)
    try:
        for child in (victim, survivor):
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        wait_for(lambda: sorted(_states(pg_url).values()) == ["sending", "sending"], 10,
                 "both machines to hold a claim")
        workers = dict(sql(pg_url, "SELECT id, pid FROM voucherify_outbox_workers"))
        held = dict(sql(pg_url, "SELECT id, worker FROM voucherify_outbox_events"))
        victim_row = next(row for row, pid in workers.items() if pid == victim.pid)
        victims_event = next(e for e, row in held.items() if row == victim_row)
        survivors_event = next(e for e, row in held.items() if row != victim_row)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        with Outbox(pg_url) as operator:  # opening reaps
            wait_for(lambda: operator._store.reap() >= 0 and
                     _states(pg_url)[victims_event] == "unknown", 10,
                     "the dead worker's claim to become unknown")
            for _ in range(3):
                assert operator._store.reap() == 0
            assert _states(pg_url)[survivors_event] == "sending"  # alive: still its own
            [gone] = operator.events(State.UNKNOWN)
            assert gone.error == {"type": "WorkerGone",
                                  "message": "its worker died while sending it"}
            wait_for(lambda: _states(pg_url)[survivors_event] == "delivered", 15,
                     "the live worker to finish its own claim")
            assert operator.events(State.PENDING) == []
        assert sql(pg_url, "SELECT count(*) FROM voucherify_outbox_workers WHERE pid = %s",
                   victim.pid) == [(0,)]
    finally:
        for child in (victim, survivor):
            if child.poll() is None:
                child.kill()
            child.wait(10)
            if child.stdout is not None:
                child.stdout.close()
            if child.stdin is not None:
                child.stdin.close()


def test_four_machines_share_one_outbox_and_one_rate_limit(pg_url: str) -> None:
    rate, per_machine = 20, 20
    with LocalVoucherify(app_id=APP_ID, app_token=APP_TOKEN, rate_limit=(rate, 1.0)) as server:
        Outbox(pg_url).close()  # the schema, before four processes race for it
        machines = [machine(pg_url, server, f"m{n}", per_machine, 30) for n in range(4)]
        try:
            for child in machines:
                assert child.stdout is not None and child.stdout.readline() == "ready\n"
            started = time.monotonic()
            for child in machines:
                assert child.stdin is not None
                child.stdin.write("go\n")
                child.stdin.flush()
            total = 4 * per_machine
            wait_for(lambda: len(server.events) >= total, 30, "every event to be delivered")
            elapsed = time.monotonic() - started
            delivering = set(sql(pg_url, "SELECT DISTINCT w.pid FROM voucherify_outbox_workers w"))
        finally:
            for child in machines:
                child.kill()
                child.wait(10)
                for stream in (child.stdout, child.stdin):
                    if stream is not None:
                        stream.close()
        sources = [event["body"]["customer"]["source_id"] for event in server.events]
        assert sorted(sources) == sorted(f"m{n}-{i}" for n in range(4) for i in range(per_machine))
        assert server.rate_limited == 0
        # Fixed windows of one second: 80 events need four windows, so at least 3 s.
        assert total / elapsed >= 0.9 * rate, (total, elapsed)
        assert len(delivering) == 4  # every machine was a worker
        assert _states(pg_url) and set(_states(pg_url).values()) == {"delivered"}


def _hold_one(outbox: Outbox) -> tuple[PostgresStore, str, Claim]:
    store = outbox._store
    assert isinstance(store, PostgresStore)
    worker = outbox._worker()
    claim = store.claim(worker, time.time(), lambda pace, now: 0.0)
    assert isinstance(claim, Claim)
    return store, worker, claim


def test_a_lost_session_reaped_before_reconnecting_leaves_its_claim_unknown(
        pg_url: str, server: LocalVoucherify) -> None:
    with Outbox(pg_url, make_configuration(server.url)) as outbox, Outbox(pg_url) as other:
        first = outbox.track(body("before"))
        store, _, _ = _hold_one(outbox)
        old_row = sql(pg_url, "SELECT id FROM voucherify_outbox_workers")
        backend = store._connection().info.backend_pid
        sql(pg_url, "SELECT pg_terminate_backend(%s)", backend)
        wait_for(lambda: other._store.reap() == 1, 10, "the lost session's claim reaped")
        assert _states(pg_url) == {first: "unknown"}
        # The next use makes the connection again; the reaped row is gone, so the worker
        # gets a new one and delivers on.
        second = outbox.track(body("after"))
        assert store._connection().info.backend_pid != backend
        new_row = sql(pg_url, "SELECT id FROM voucherify_outbox_workers")
        assert len(new_row) == 1 and new_row != old_row
        assert outbox.deliver().delivered == 1
        assert _states(pg_url) == {first: "unknown", second: "delivered"}
        assert [e["body"]["customer"]["source_id"] for e in server.events] == ["after"]


def test_a_session_lost_and_made_again_before_any_reaping_keeps_its_claim(
        pg_url: str, server: LocalVoucherify) -> None:
    with Outbox(pg_url, make_configuration(server.url)) as outbox, Outbox(pg_url) as other:
        first = outbox.track(body("before"))
        store, worker, claim = _hold_one(outbox)
        backend = store._connection().info.backend_pid
        sql(pg_url, "SELECT pg_terminate_backend(%s)", backend)
        wait_for(lambda: not sql(pg_url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                 backend), 10, "the session to end")
        outbox.track(body("after"))  # made again: the lock is taken again, the row kept
        assert other._store.reap() == 0
        assert _states(pg_url)[first] == "sending"
        store.finish(worker, claim, Finish(State.DELIVERED, 202), time.time(),
                     lambda pace, now, in_flight: None)
        assert _states(pg_url)[first] == "delivered"


def test_an_outcome_is_recorded_once_the_database_is_back(pg_url: str, pg_server: str) -> None:
    name = pg_url.rsplit("/", 1)[1]
    with Outbox(pg_url) as outbox:
        first = outbox.track(body("x"))
        store, worker, claim = _hold_one(outbox)
        # The database goes away under the worker: no session may connect, and its own ends.
        sql(pg_server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        sql(pg_server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = %s", name)
        recorded = threading.Event()

        def record() -> None:
            store.finish(worker, claim, Finish(State.DELIVERED, 202), time.time(),
                         lambda pace, now, in_flight: None)
            recorded.set()

        thread = threading.Thread(target=record, daemon=True)
        try:
            thread.start()
            wait_for(lambda: store._conn is None, 10, "the worker to find its session gone")
            assert not recorded.is_set()  # it cannot: no connection is allowed
        finally:
            sql(pg_server, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert recorded.wait(20)
        thread.join(5)
        assert _states(pg_url) == {first: "delivered"}


def test_fork_child_uses_its_own_connection_and_leaves_the_parents_alone(pg_url: str) -> None:
    with Outbox(pg_url) as outbox:
        outbox.track(body("parent-1"))
        store = outbox._store
        assert isinstance(store, PostgresStore)
        parents = store._connection().info.backend_pid
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                from voucherify.outbox import _postgres

                inherited = _postgres._ABANDONED[-1]
                outbox.track(body("child"))
                ok = store._connection().info.backend_pid != parents
                inherited.close()  # the worst a child could do with it
                code = 0 if ok else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        outbox.track(body("parent-2"))  # the parent's session lives on
        assert store._connection().info.backend_pid == parents
        assert sorted(e.body["customer"]["source_id"] for e in outbox.events()) == [
            "child", "parent-1", "parent-2"]


def test_keys_never_reach_the_database(outbox: Outbox, pg_url: str) -> None:
    outbox.track(body("k"))
    outbox.deliver()
    dump = str(sql(pg_url, "SELECT * FROM voucherify_outbox_events")) + str(
        sql(pg_url, "SELECT * FROM voucherify_outbox_workers"))
    assert APP_TOKEN not in dump


def test_without_a_server_the_tests_skip_unless_postgres_is_required(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(pg_cluster.ENV_REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL server: gone"):
        pg_cluster._unavailable("gone")
    monkeypatch.setenv(pg_cluster.ENV_REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required"):
        pg_cluster._unavailable("gone")


def test_the_password_in_a_url_never_shows_in_repr_path_or_errors(pg_url: str) -> None:
    # The throwaway cluster trusts 127.0.0.1, so any password is accepted, and must be masked.
    scheme, _, rest = pg_url.partition("://")
    user, _, place = rest.partition("@")
    url = f"{scheme}://{user}:hunter2secret@{place}"
    with Outbox(url) as outbox:
        outbox.track(body("masked"))
        shown = [repr(outbox), outbox.path, str(outbox.stats())]
        assert all("hunter2secret" not in text for text in shown), shown
        assert "127.0.0.1" in outbox.path and "password" not in outbox.path
    with pytest.raises(OutboxError) as closed:
        outbox.track(body("after-close"))
    assert "hunter2secret" not in str(closed.value)
