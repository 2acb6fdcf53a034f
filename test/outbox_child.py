"""A process that uses an outbox, for ``test_outbox_processes.py``.

``python outbox_child.py MODE TARGET [OPTIONS_JSON]``. The API's host and keys come from the
environment (``Configuration.from_env``), never from the command line. Every line printed is
one JSON object, flushed at once, so a test that kills this process still reads every line
printed before the kill. Modes:

- ``track``: start the worker, then track ``count`` events (tags ``<prefix>-<n>``) one every
  ``interval`` seconds, printing ``{"id", "tag"}`` once each ``track`` has returned; then flush.
- ``rate``: track ``count`` events, read ``{"start_at", "end_at"}`` (Unix times) from standard
  input, start the worker at ``start_at`` and keep tracking (``more`` events) until
  ``end_at``; then close without waiting.
- ``hold``: track one event and deliver it in this thread (the test makes the call slow).
- ``fork``: start, track and flush one event, then ``os.fork()``: the child tracks one,
  waits for it to be delivered without flushing, and reports which worker threads it has;
  the parent waits for the child, then tracks and flushes one more.
- ``exit``: start the worker, track ``count`` events and end normally, without flushing.
- ``survive``: track one event, fork; the parent waits until the child has tracked one,
  closes its outbox and ends; the child waits for that, prints ``{"ready"}``, then tracks one
  event per line read from standard input, and closes when standard input ends.
- ``mp``: the same in a ``multiprocessing`` child (fork start method), which ends through
  ``os._exit`` once its target returns; this process waits for it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

import voucherify
from voucherify.outbox import Outbox, State


def say(**doc: Any) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def body(tag: str) -> dict[str, Any]:
    return {"event": "outbox_test", "customer": {"source_id": f"c-{tag}"},
            "metadata": {"tag": tag}}


def open_outbox(target: str, options: dict[str, Any]) -> Outbox:
    configuration = voucherify.Configuration.from_env(
        timeout=(1.0, float(options.get("read_timeout", 5.0))))
    return Outbox(target, configuration, exit_timeout=float(options.get("exit_timeout", 5.0)))


def track_mode(target: str, options: dict[str, Any]) -> None:
    outbox = open_outbox(target, options)
    outbox.start()
    say(ready=os.getpid())
    prefix = options["prefix"]
    for n in range(int(options["count"])):
        tag = f"{prefix}-{n}"
        say(id=outbox.track(body(tag)), tag=tag)
        time.sleep(float(options.get("interval", 0.01)))
    say(flushed=outbox.flush(float(options.get("flush", 10.0))))
    outbox.close(0)


def rate_mode(target: str, options: dict[str, Any]) -> None:
    outbox = open_outbox(target, options)
    prefix = options["prefix"]
    for n in range(int(options["count"])):
        outbox.track(body(f"{prefix}-{n}"))
    say(ready=os.getpid())
    go = json.loads(sys.stdin.readline())  # the test sends the times once all are ready
    time.sleep(max(0.0, float(go["start_at"]) - time.time()))
    outbox.start()
    end_at = float(go["end_at"])
    more = int(options.get("more", 0))
    for n in range(more):  # keep tracking while the worker delivers
        if time.time() >= end_at:
            break
        outbox.track(body(f"{prefix}-more-{n}"))
        time.sleep(max(0.0, min(end_at - time.time(), 0.05)))
    time.sleep(max(0.0, end_at - time.time()))
    outbox.close(0)
    say(done=os.getpid())


def hold_mode(target: str, options: dict[str, Any]) -> None:
    outbox = open_outbox(target, options)
    event_id = outbox.track(body(options["tag"]))
    say(id=event_id)
    report = outbox.deliver()
    say(delivered=report.delivered, unknown=report.unknown)
    outbox.close()


def fork_mode(target: str, options: dict[str, Any]) -> None:
    outbox = open_outbox(target, options)
    outbox.start()
    before = outbox.track(body("parent-before"))
    say(who="parent", id=before, flushed=outbox.flush(10.0))
    pid = os.fork()
    if pid == 0:
        event_id = outbox.track(body("child"))
        workers = [thread.ident for thread in threading.enumerate()
                   if thread.name == "voucherify-outbox"]
        deadline = time.monotonic() + 10.0
        state = None
        while time.monotonic() < deadline:
            state = next(event.state for event in outbox.events() if event.id == event_id)
            if state is State.DELIVERED:
                break
            time.sleep(0.01)
        say(who="child", id=event_id, state=state, workers=len(workers),
            own_worker=bool(workers) and workers[0] != threading.main_thread().ident)
        sys.exit(0)  # a normal exit: the atexit hook closes the child's outbox
    _, status = os.waitpid(pid, 0)
    after = outbox.track(body("parent-after"))
    say(who="parent", id=after, flushed=outbox.flush(10.0), child_status=status)
    outbox.close()


def exit_mode(target: str, options: dict[str, Any]) -> None:
    outbox = open_outbox(target, options)
    outbox.start()
    for n in range(int(options["count"])):
        tag = f"exit-{n}"
        say(id=outbox.track(body(tag)), tag=tag)
    say(exiting=time.time())
    # No flush, no close: the interpreter's exit is the outbox's last chance.


def survive_mode(target: str, options: dict[str, Any]) -> None:
    outbox = open_outbox(target, options)
    say(id=outbox.track(body("parent")))
    parent_gone_r, parent_gone_w = os.pipe()
    tracked_r, tracked_w = os.pipe()
    if os.fork() == 0:
        os.close(parent_gone_w)
        say(id=outbox.track(body("child-0")))
        os.write(tracked_w, b"1")
        os.read(parent_gone_r, 1)  # end of file: the parent has ended
        say(ready=os.getpid())
        for n, _ in enumerate(sys.stdin, start=1):
            say(id=outbox.track(body(f"child-{n}")))
        outbox.close()
        sys.exit(0)
    os.read(tracked_r, 1)
    outbox.close()  # the parent leaves while its child goes on with the outbox


def mp_mode(target: str, options: dict[str, Any]) -> None:
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=exit_mode, args=(target, options))
    child.start()
    child.join(30.0)
    say(exitcode=child.exitcode)


MODES = {"track": track_mode, "rate": rate_mode, "hold": hold_mode, "fork": fork_mode,
         "exit": exit_mode, "mp": mp_mode, "survive": survive_mode}

if __name__ == "__main__":
    MODES[sys.argv[1]](sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {})
