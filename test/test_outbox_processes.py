"""The outbox across real processes: SIGKILL at random moments, four processes sharing one
rate limit, a live worker's slow claim, ``os.fork()``, and the flush at interpreter exit.

Each child runs ``outbox_child.py`` on the test's ``outbox_target`` with the stand-in's URL
and keys in its environment (never on its command line); the stand-in runs in this process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from outbox_support import (
    configuration_for,
    free_port,
    local_server,
    outbox_target,  # noqa: F401
    recorded_tags,
    states,
    wait_until,
)

from voucherify.outbox import Outbox, State
from voucherify.testing import LocalVoucherify, faults

from conftest import APP_ID, APP_TOKEN

CHILD = str(Path(__file__).with_name("outbox_child.py"))


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with local_server() as running:
        yield running


def child_env(url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("VOUCHERIFY_")}
    env.update(VOUCHERIFY_HOST=url, VOUCHERIFY_APP_ID=APP_ID, VOUCHERIFY_APP_TOKEN=APP_TOKEN,
               PYTHONUNBUFFERED="1")
    return env


def spawn(mode: str, target: str, url: str, **options: Any) -> subprocess.Popen[str]:
    command = [sys.executable, CHILD, mode, target, json.dumps(options)]
    assert APP_TOKEN not in " ".join(command)
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env(url))


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def finish(child: subprocess.Popen[str], timeout: float = 30.0) -> list[dict[str, Any]]:
    out, err = child.communicate(timeout=timeout)
    assert child.returncode == 0, err
    assert APP_TOKEN not in out + err
    return lines(out)


def reopen(target: str, url: str) -> Outbox:
    """Open the outbox as a newcomer would: reaping dead workers' claims on the way."""
    return Outbox(target, configuration_for(url))


# -- SIGKILL ---------------------------------------------------------------------------------


def test_sigkill_at_random_moments_loses_nothing_and_records_nothing_twice(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    rng = random.Random(1313)
    printed: list[str] = []
    trials = 24
    for round_ in range(trials // 2):
        # Slow replies on some calls, so that some kills land while a call is out.
        server.inject(faults.delay(0.15), times=3)
        pair = [round_ * 2, round_ * 2 + 1]
        children = [spawn("track", outbox_target, server.url, prefix=f"t{n}", count=40,
                          interval=0.005) for n in pair]
        for child in children:
            assert child.stdout is not None
            first = child.stdout.readline()
            assert json.loads(first).get("ready"), first
        time.sleep(rng.uniform(0.0, 0.25))
        for child in children:
            child.send_signal(signal.SIGKILL)
            time.sleep(rng.uniform(0.0, 0.05))
        for child in children:
            out, _ = child.communicate(timeout=10)
            assert child.returncode == -signal.SIGKILL
            printed += [doc["id"] for doc in lines(out) if "id" in doc]
        server.clear_faults()
        with reopen(outbox_target, server.url) as outbox:
            now = states(outbox)
        assert State.SENDING not in now.values(), "a dead worker's claim was not reaped"

    # A call the last kill cut off may still be in its delay at the stand-in, to be recorded
    # when that ends: the longest injected delay is 0.15 s.
    time.sleep(0.3)
    with reopen(outbox_target, server.url) as outbox:
        final = {event.id: event for event in outbox.events()}
    counts = recorded_tags(server.events)
    assert all(count == 1 for count in counts.values()), "an event was recorded twice"
    for event_id in printed:  # nothing a child was told is stored was lost
        assert event_id in final, f"{event_id} was lost"
    for event in final.values():  # and each state tells the truth about the record
        recorded = counts[event.body["metadata"]["tag"]]
        if event.state is State.DELIVERED:
            assert recorded == 1, event
        elif event.state is State.PENDING:  # to be sent: it must not be recorded yet
            assert recorded == 0, event
        else:
            assert event.state is State.UNKNOWN, event  # never sending, nor anything else
    unknown_by_kill = [event for event in final.values() if event.state is State.UNKNOWN
                       and (event.error or {}).get("type") == "WorkerGone"]
    assert unknown_by_kill, "no kill landed while a call was out: the test proved little"
    assert any(event.state is State.DELIVERED for event in final.values())
    assert len(printed) >= trials


# -- four processes, one rate limit ----------------------------------------------------------


def test_four_processes_share_the_rate_limit_without_a_429(
        outbox_target: str) -> None:  # noqa: F811
    rate, seconds = 25, 4.5
    with local_server(rate_limit=(rate, 1.0)) as server:
        with reopen(outbox_target, server.url):  # create the file before four open it
            pass
        children = [spawn("rate", outbox_target, server.url, prefix=f"p{n}", count=40,
                          more=20) for n in range(4)]
        for child in children:
            assert child.stdout is not None
            first = child.stdout.readline()
            assert json.loads(first).get("ready"), (first, child.stderr)
        start_at = time.time() + 0.2
        end_at = start_at + seconds
        for child in children:
            assert child.stdin is not None
            child.stdin.write(json.dumps({"start_at": start_at, "end_at": end_at}) + "\n")
            child.stdin.flush()
        time.sleep(max(0.0, end_at - time.time()))
        at_end = len(server.events)
        for child in children:
            finish(child)
        # The stand-in's fixed 1 s windows open at about 0, 1, 2, 3 and 4 s of the run.
        achieved = at_end / seconds
        assert server.rate_limited == 0, f"{server.rate_limited} replies were 429"
        assert achieved >= 0.9 * rate, f"{achieved:.1f}/s of {rate}/s ({at_end} recorded)"
        counts = recorded_tags(server.events)
        assert all(count == 1 for count in counts.values())
        with reopen(outbox_target, server.url) as outbox:
            delivered = {event.body["metadata"]["tag"] for event in outbox.events()
                         if event.state is State.DELIVERED}
            assert outbox.stats().counts[State.SENDING] == 0
        assert delivered == set(counts)


# -- a live worker's claim -------------------------------------------------------------------


def test_a_live_workers_slow_claim_is_never_taken_over(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    server.inject(faults.delay(2.0))
    child = spawn("hold", outbox_target, server.url, tag="held", read_timeout=10.0)
    assert child.stdout is not None
    held = json.loads(child.stdout.readline())["id"]
    with reopen(outbox_target, server.url) as outbox:
        assert wait_until(lambda: states(outbox).get(held) is State.SENDING, 5.0)
        other = outbox.track({"event": "outbox_test", "customer": {"source_id": "c-other"},
                              "metadata": {"tag": "other"}})
        report = outbox.deliver()  # this process reaps and delivers meanwhile
        assert report.delivered == 1 and report.unknown == 0
        with reopen(outbox_target, server.url) as third:  # a newcomer reaps on open
            assert states(third)[held] is State.SENDING
        assert states(outbox) == {held: State.SENDING, other: State.DELIVERED}
        done = finish(child)
        assert done[-1] == {"delivered": 1, "unknown": 0}
        assert states(outbox) == {held: State.DELIVERED, other: State.DELIVERED}
    assert recorded_tags(server.events) == {"held": 1, "other": 1}


# -- fork ------------------------------------------------------------------------------------


def test_a_forked_child_delivers_with_its_own_worker_and_the_parent_goes_on(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    child = spawn("fork", outbox_target, server.url)
    reports = finish(child)
    by_who: dict[str, list[dict[str, Any]]] = {"parent": [], "child": []}
    for doc in reports:
        by_who[doc["who"]].append(doc)
    (forked,) = by_who["child"]
    assert forked["state"] == "delivered"
    assert forked["workers"] == 1 and forked["own_worker"], forked  # its own thread
    before, after = by_who["parent"]
    assert before["flushed"] and after["flushed"] and after["child_status"] == 0
    with reopen(outbox_target, server.url) as outbox:
        assert states(outbox) == dict.fromkeys(
            [before["id"], forked["id"], after["id"]], State.DELIVERED)
        assert outbox.stats().workers == 0  # both processes unregistered theirs
    assert recorded_tags(server.events) == {"parent-before": 1, "child": 1, "parent-after": 1}


def test_a_forked_child_keeps_what_it_tracks_after_the_parent_closed(
        outbox_target: str) -> None:  # noqa: F811
    url = "http://127.0.0.1:9"
    parent = spawn("survive", outbox_target, url)
    assert parent.stdout is not None and parent.stdin is not None
    ids = [json.loads(parent.stdout.readline())["id"] for _ in range(2)]  # parent, child-0
    assert "ready" in json.loads(parent.stdout.readline())  # the parent has closed and ended
    assert parent.wait(10) == 0
    with reopen(outbox_target, url) as other:  # another process writes meanwhile
        ids.append(other.track({"event": "outbox_test", "customer": {"source_id": "c-o"},
                                "metadata": {"tag": "other"}}))
        parent.stdin.write("1\n")
        parent.stdin.flush()
        ids.append(json.loads(parent.stdout.readline())["id"])
    parent.stdin.write("2\n")  # after the other process closed its outbox
    parent.stdin.flush()
    ids.append(json.loads(parent.stdout.readline())["id"])
    parent.stdin.close()
    assert parent.stdout.read() == ""  # the child has ended (it held the pipe)
    with reopen(outbox_target, url) as outbox:
        assert sorted(event.body["metadata"]["tag"] for event in outbox.events()) == [
            "child-0", "child-1", "child-2", "other", "parent"]
        assert states(outbox) == dict.fromkeys(ids, State.PENDING)


# -- the flush at exit -----------------------------------------------------------------------


def test_a_normal_exit_delivers_what_was_tracked(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    child = spawn("exit", outbox_target, server.url, count=5)
    ids = [doc["id"] for doc in finish(child) if "id" in doc]
    assert len(ids) == 5
    assert recorded_tags(server.events) == {f"exit-{n}": 1 for n in range(5)}
    with reopen(outbox_target, server.url) as outbox:
        assert states(outbox) == dict.fromkeys(ids, State.DELIVERED)


def test_a_multiprocessing_child_that_returns_delivers_what_it_tracked(
        outbox_target: str, server: LocalVoucherify) -> None:  # noqa: F811
    docs = finish(spawn("mp", outbox_target, server.url, count=5))
    assert docs[-1] == {"exitcode": 0}
    ids = [doc["id"] for doc in docs if "id" in doc]
    assert recorded_tags(server.events) == {f"exit-{n}": 1 for n in range(5)}
    with reopen(outbox_target, server.url) as outbox:
        assert states(outbox) == dict.fromkeys(ids, State.DELIVERED)


def test_an_exit_with_the_api_down_waits_exit_timeout_and_keeps_the_events(
        outbox_target: str) -> None:  # noqa: F811
    url = f"http://127.0.0.1:{free_port()}"
    exit_timeout = 1.0
    child = spawn("exit", outbox_target, url, count=3, exit_timeout=exit_timeout)
    out, err = child.communicate(timeout=30)
    ended = time.time()
    assert child.returncode == 0, err
    docs = lines(out)
    exiting = next(doc["exiting"] for doc in docs if "exiting" in doc)
    assert ended - exiting < exit_timeout + 1.5, "the exit was not bounded by exit_timeout"
    ids = [doc["id"] for doc in docs if "id" in doc]
    with reopen(outbox_target, url) as outbox:
        assert states(outbox) == dict.fromkeys(ids, State.PENDING)
        assert outbox.stats().workers == 0
