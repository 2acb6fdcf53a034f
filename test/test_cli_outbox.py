"""``voucherify outbox``: every action in-process against the stand-in and a real outbox
file, every bad argument refused before the outbox is opened, and ``deliver`` as a real
process: a plain run, Ctrl-C (and SIGTERM) during ``--follow`` with a call in flight, and a
second Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import outbox_support
import pytest

from voucherify.cli.__main__ import main
from voucherify.cli._outbox import duration
from voucherify.outbox import Outbox, State
from voucherify.testing import LocalVoucherify, faults

from conftest import cli_environment

outbox_target = outbox_support.outbox_target
"""A fresh outbox's target, once per store kind (the fixture, under its own name)."""

APP_ID = "app-cli-outbox-01"
TOKEN = "sk_cli_outbox_SECRET_5521"


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(app_id=APP_ID, app_token=TOKEN) as running:
        yield running


@pytest.fixture
def env(server: LocalVoucherify, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return cli_environment(monkeypatch, server.url, APP_ID, TOKEN)


def body(n: int) -> dict[str, Any]:
    return {"event": "signed_up", "customer": {"source_id": f"user-{n}"}}


def tracked(target: str, count: int) -> list[str]:
    """Track ``count`` events into the outbox at ``target`` (nothing delivers them)."""
    with Outbox(target) as outbox:
        return [outbox.track(body(n)) for n in range(count)]


def states(target: str) -> dict[str, State]:
    with Outbox(target) as outbox:
        return {event.id: event.state for event in outbox.events()}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def source_ids(server: LocalVoucherify) -> list[str]:
    return sorted(e["body"]["customer"]["source_id"] for e in server.events)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- init and status -------------------------------------------------------------------------


def test_init_creates_a_private_outbox_file_prints_its_schema_and_accepts_it_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / "new.db")
    code, out, err = run(capsys, "outbox", "init", target)
    assert (code, err) == (0, "")
    assert json.loads(out) == {"schema_version": 1}
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    ids = tracked(target, 2)
    code, out, _ = run(capsys, "outbox", "init", target)
    assert code == 0 and json.loads(out) == {"schema_version": 1}
    assert set(states(target)) == set(ids), "checking an outbox changes nothing"


def test_init_refuses_a_file_that_is_not_an_outbox_or_is_from_a_newer_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not a database at all, just some text\n" * 200)
    code, out, err = run(capsys, "outbox", "init", str(text))
    assert (code, out) == (2, "")
    assert f"voucherify: {text} is not an outbox" in err
    assert text.read_bytes() == b"not a database at all, just some text\n" * 200

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    code, out, err = run(capsys, "outbox", "status", str(other))
    assert (code, out) == (2, "")
    assert "an SQLite database of something else, not an outbox" in err
    assert other.read_bytes() == before

    newer = tmp_path / "newer.db"
    tracked(str(newer), 1)
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    before = newer.read_bytes()
    code, out, err = run(capsys, "outbox", "init", str(newer))
    assert (code, out) == (2, "")
    assert "an outbox of a newer release (schema 99; this one reads up to 1)" in err
    assert newer.read_bytes() == before


def test_a_target_that_cannot_be_created_is_a_usage_error_with_the_library_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-folder" / "events.outbox"
    code, out, err = run(capsys, "outbox", "init", str(target))
    assert (code, out) == (2, "")
    assert f"voucherify: cannot create the outbox file {target}: No such file or directory" in err
    assert not target.parent.exists()


def test_status_prints_the_stats_as_json(
    outbox_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tracked(outbox_target, 3)
    code, out, err = run(capsys, "outbox", "status", outbox_target)
    assert (code, err) == (0, "")
    status = json.loads(out)
    assert status["counts"] == {"pending": 3, "sending": 0, "delivered": 0, "rejected": 0,
                                "unknown": 0, "discarded": 0}
    assert status["held_events"] == 3 and status["held_bytes"] > 0
    assert status["oldest_pending_age"] >= 0
    assert status["workers"] == 0 and status["paused_for"] == 0
    assert status["max_events"] == 1_000_000


# -- list ------------------------------------------------------------------------------------


def test_list_prints_json_lines_oldest_first_100_by_default_and_pages_with_after(
    outbox_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = tracked(outbox_target, 103)
    code, out, _ = run(capsys, "outbox", "list", outbox_target)
    listed = json_lines(out)
    assert code == 0 and [e["id"] for e in listed] == ids[:100]
    first = listed[0]
    assert first["state"] == "pending" and first["event"] == "signed_up"
    assert first["body"] == body(0) and first["attempts"] == 0
    assert TOKEN not in out

    code, out, _ = run(capsys, "outbox", "list", outbox_target, "--after", ids[99])
    assert code == 0 and [e["id"] for e in json_lines(out)] == ids[100:]
    code, out, _ = run(capsys, "outbox", "list", outbox_target, "--limit", "2",
                       "--after", ids[10])
    assert [e["id"] for e in json_lines(out)] == ids[11:13]
    code, out, _ = run(capsys, "outbox", "list", outbox_target, "--limit", "0")
    assert (code, out) == (0, "")


def test_list_state_filters_and_shows_what_became_of_each_event(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = tracked(outbox_target, 3)
    server.inject(faults.status(400))                   # the first is refused
    server.inject(faults.drop_after_processing())       # the second recorded, reply lost
    code, out, err = run(capsys, "outbox", "deliver", outbox_target)
    assert code == 1, err
    assert json.loads(out)["delivered"] == 1

    code, out, _ = run(capsys, "outbox", "list", outbox_target, "--state", "rejected")
    (rejected,) = json_lines(out)
    assert rejected["id"] == ids[0] and rejected["status"] == 400
    assert rejected["error"]["status"] == 400
    code, out, _ = run(capsys, "outbox", "list", outbox_target, "--state", "unknown")
    (unknown,) = json_lines(out)
    assert unknown["id"] == ids[1] and unknown["error"]["type"]
    code, out, _ = run(capsys, "outbox", "list", outbox_target, "--state", "delivered")
    (delivered,) = json_lines(out)
    assert delivered["id"] == ids[2]
    assert delivered["customer_id"].startswith("cust_")


# -- deliver (in-process) --------------------------------------------------------------------


def test_deliver_sends_each_pending_event_once_and_prints_the_report(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tracked(outbox_target, 5)
    code, out, err = run(capsys, "outbox", "deliver", outbox_target)
    assert code == 0, err
    report = json.loads(out)
    assert {k: report[k] for k in ("delivered", "rejected", "unknown", "retried")} == {
        "delivered": 5, "rejected": 0, "unknown": 0, "retried": 0}
    assert report["elapsed"] >= 0
    assert source_ids(server) == sorted(f"user-{n}" for n in range(5))
    assert set(states(outbox_target).values()) == {State.DELIVERED}

    code, out, _ = run(capsys, "outbox", "deliver", outbox_target)   # nothing left
    assert code == 0 and json.loads(out)["delivered"] == 0
    assert len(server.events) == 5


def test_deliver_exits_1_when_an_event_became_unknown_and_says_so_on_stderr(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (event_id,) = tracked(outbox_target, 1)
    server.inject(faults.status(503))
    code, out, err = run(capsys, "outbox", "deliver", outbox_target)
    assert code == 1
    assert json.loads(out)["unknown"] == 1
    assert f"outbox: event {event_id} is unknown" in err


def test_deliver_follow_with_max_seconds_delivers_events_tracked_meanwhile(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tracked(outbox_target, 1)
    done = threading.Event()

    def track_later() -> None:
        wait_for(lambda: len(server.events) == 1, 20, "the first event")
        tracked(outbox_target, 2)
        done.set()

    helper = threading.Thread(target=track_later)
    helper.start()
    code, out, err = run(capsys, "outbox", "deliver", outbox_target, "--follow",
                         "--max-seconds", "3")
    helper.join()
    assert done.is_set() and code == 0, err
    assert json.loads(out)["delivered"] == 3
    assert len(server.events) == 3


def test_deliver_with_refused_keys_leaves_the_event_pending_and_never_prints_the_key(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (event_id,) = tracked(outbox_target, 1)
    wrong = "sk_WRONG_token_never_shown_77"
    code, out, err = run(capsys, "outbox", "deliver", outbox_target, "--max-seconds", "1",
                         "--app-token", wrong, "--debug")
    assert code == 0, err
    report = json.loads(out)
    assert report["delivered"] == 0 and report["retried"] >= 1
    assert "the API refused the keys (401)" in err
    assert "POST" in err, "--debug logs every attempt"
    assert "visible to other users" in err
    assert wrong not in out + err and TOKEN not in out + err
    assert states(outbox_target) == {event_id: State.PENDING}
    assert server.events == []


# -- resend, discard, purge ------------------------------------------------------------------


def test_resend_moves_unknown_and_rejected_back_and_names_the_ids_it_did_not_move(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = tracked(outbox_target, 3)
    server.inject(faults.status(400))
    server.inject(faults.status(503))
    assert run(capsys, "outbox", "deliver", outbox_target)[0] == 1
    assert states(outbox_target) == {ids[0]: State.REJECTED, ids[1]: State.UNKNOWN,
                                     ids[2]: State.DELIVERED}

    code, out, err = run(capsys, "outbox", "resend", outbox_target, ids[0], ids[1])
    assert (code, err) == (0, "")
    assert json.loads(out) == {"resent": [ids[0], ids[1]], "not_resent": []}
    assert states(outbox_target)[ids[1]] is State.PENDING

    code, out, err = run(capsys, "outbox", "resend", outbox_target, ids[0], ids[2], "nope")
    assert code == 1
    assert json.loads(out) == {"resent": [], "not_resent": [ids[0], ids[2], "nope"]}
    assert "3 of 3 ids were not resent" in err and f"{ids[2]}, nope" in err

    code, out, _ = run(capsys, "outbox", "deliver", outbox_target)
    assert code == 0 and json.loads(out)["delivered"] == 2
    assert source_ids(server) == ["user-0", "user-1", "user-2"]


def test_discard_sets_events_aside_and_exits_1_for_an_id_it_cannot_discard(
    outbox_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = tracked(outbox_target, 2)
    code, out, err = run(capsys, "outbox", "discard", outbox_target, ids[0], ids[0])
    assert (code, err) == (0, "")
    assert json.loads(out) == {"discarded": [ids[0]], "not_discarded": []}
    code, out, err = run(capsys, "outbox", "discard", outbox_target, ids[0], ids[1])
    assert code == 1
    assert json.loads(out) == {"discarded": [ids[1]], "not_discarded": [ids[0]]}
    assert "1 of 2 ids were not discarded" in err and "pending or rejected or unknown" in err
    assert set(states(outbox_target).values()) == {State.DISCARDED}


def test_purge_deletes_only_delivered_and_discarded_events_older_than_the_duration(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = tracked(outbox_target, 3)
    assert run(capsys, "outbox", "discard", outbox_target, ids[0])[0] == 0
    server.inject(faults.status(400))  # ids[1] is rejected; ids[2] delivered
    assert run(capsys, "outbox", "deliver", outbox_target)[0] == 1

    code, out, _ = run(capsys, "outbox", "purge", outbox_target, "--older-than", "7d")
    assert code == 0 and json.loads(out) == {"purged": 0}
    code, out, _ = run(capsys, "outbox", "purge", outbox_target, "--older-than", "0")
    assert code == 0 and json.loads(out) == {"purged": 2}
    assert states(outbox_target) == {ids[1]: State.REJECTED}


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("0", 0.0), ("1.5", 1.5), ("45s", 45.0), ("30m", 1800.0), ("12h", 43200.0),
    ("7d", 604800.0), ("2D", 172800.0),
])
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


# -- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["list", "--state", "lost"], "argument --state: invalid choice: 'lost'"),
    (["list", "--limit", "-1"], "argument --limit: '-1': must be 0 or more"),
    (["list", "--limit", "many"], "argument --limit: 'many' is not a whole number"),
    (["purge", "--older-than", "3 weeks"], "'3 weeks' is not a duration"),
    (["purge", "--older-than", "-5"], "'-5' is not a duration"),
    (["purge", "--older-than", "9" * 400], "is too long a duration"),
    (["purge"], "the following arguments are required: --older-than"),
    (["resend"], "the following arguments are required: ID"),
    (["discard"], "the following arguments are required: ID"),
    (["resend", ""], "argument ID: '' is not an event id"),
    (["deliver", "--max-seconds", "0"], "argument --max-seconds: '0': must be a number above 0"),
    (["deliver", "--max-rate", "nan"], "argument --max-rate: 'nan': must be a number above 0"),
])
def test_bad_arguments_exit_2_before_the_outbox_is_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    target = tmp_path / "never.db"
    code, out, err = run(capsys, "outbox", argv[0], str(target), *argv[1:])
    assert (code, out) == (2, "")
    assert message in err and "usage: voucherify outbox" in err
    assert not target.exists()


def test_an_unknown_action_or_a_missing_target_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "outbox", "peek", "x.db")
    assert code == 2 and "invalid choice: 'peek'" in err
    code, _, err = run(capsys, "outbox", "status")
    assert code == 2 and "the following arguments are required: TARGET" in err


def test_deliver_without_keys_exits_2_naming_the_variable_before_opening_the_outbox(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("VOUCHERIFY_APP_TOKEN")
    target = tmp_path / "never.db"
    code, out, err = run(capsys, "outbox", "deliver", str(target))
    assert (code, out) == (2, "")
    assert "no secret key: set VOUCHERIFY_APP_TOKEN (or give --app-token)" in err
    assert not target.exists()
    code, _, err = run(capsys, "outbox", "deliver", str(target), "--host", "http://api.example",
                       "--app-token", TOKEN)
    assert code == 2, err
    assert "to the host (--host / VOUCHERIFY_HOST), which is not this machine" in err
    assert "api.example" not in err and TOKEN not in err
    code, _, err = run(capsys, "outbox", "deliver", str(target), "--host",
                       "https://user:s3cretpass@api.example", "--app-token", TOKEN)
    assert code == 2 and "VOUCHERIFY_HOST" in err, err
    assert "s3cretpass" not in err and TOKEN not in err
    assert not target.exists()


# -- real processes --------------------------------------------------------------------------


class Child:
    """A ``python -m voucherify.cli`` process whose stdout and stderr are collected."""

    def __init__(self, env: dict[str, str], *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voucherify.cli", *argv], env=env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._out: list[str] = []
        self._err: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.process.stdout, self._out),
                                 (self.process.stderr, self._err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def out(self) -> str:
        return "".join(self._out)

    @property
    def err(self) -> str:
        return "".join(self._err)

    def wait(self, seconds: float) -> int:
        code = self.process.wait(seconds)
        for reader in self._readers:
            reader.join(seconds)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def sending(target: str) -> list[str]:
    return [event for event, state in states(target).items() if state is State.SENDING]


def test_deliver_as_a_process_delivers_everything_once(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str
) -> None:
    tracked(outbox_target, 20)
    child = Child(env, "outbox", "deliver", outbox_target)
    try:
        code = child.wait(60)
    finally:
        child.kill()
    assert code == 0, child.err
    assert json.loads(child.out)["delivered"] == 20
    assert source_ids(server) == sorted(f"user-{n}" for n in range(20))
    assert TOKEN not in child.out + child.err


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_follow_lets_the_call_in_flight_end_and_leaves_nothing_sending(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str, stop: signal.Signals
) -> None:
    ids = tracked(outbox_target, 3)
    server.inject(faults.delay(2.0))  # the first call is slow: the signal comes during it
    child = Child(env, "outbox", "deliver", outbox_target, "--follow")
    try:
        wait_for(lambda: sending(outbox_target) == [ids[0]], 30, "the first call in flight")
        child.process.send_signal(stop)
        code = child.wait(30)
    finally:
        child.kill()

    assert code == 130, child.err
    assert "interrupted: claiming nothing more, waiting for the call in flight" in child.err
    report = json.loads(child.out)
    assert report["delivered"] == 1 and report["unknown"] == 0
    # The call in flight ended and was recorded as what it was; nothing more was claimed.
    assert states(outbox_target) == {ids[0]: State.DELIVERED, ids[1]: State.PENDING,
                                     ids[2]: State.PENDING}
    assert source_ids(server) == ["user-0"]


def test_a_second_ctrl_c_exits_at_once_and_the_event_in_flight_becomes_unknown(
    server: LocalVoucherify, env: dict[str, str], outbox_target: str
) -> None:
    ids = tracked(outbox_target, 2)
    server.inject(faults.delay(4.0))  # outlasts both signals
    child = Child(env, "outbox", "deliver", outbox_target, "--follow")
    try:
        wait_for(lambda: sending(outbox_target) == [ids[0]], 30, "the first call in flight")
        child.process.send_signal(signal.SIGINT)
        wait_for(lambda: "Ctrl-C again to exit at once" in child.err, 10, "the first Ctrl-C")
        child.process.send_signal(signal.SIGINT)
        code = child.wait(10)
    finally:
        child.kill()

    assert code == 130, child.err
    assert "interrupted again: exiting without waiting for the call in flight" in child.err
    assert child.out == ""
    # The process is gone, so its claim is given up when the outbox is next opened.
    assert states(outbox_target) == {ids[0]: State.UNKNOWN, ids[1]: State.PENDING}
    wait_for(lambda: len(server.events) == 1, 20, "the delayed request to be recorded")


def test_list_into_a_pipe_closed_early_exits_1_without_a_traceback(
    outbox_target: str, env: dict[str, str]
) -> None:
    tracked(outbox_target, 400)
    process = subprocess.Popen(
        [sys.executable, "-m", "voucherify.cli", "outbox", "list", outbox_target,
         "--limit", "400"], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = json.loads(process.stdout.readline())
    process.stdout.close()  # the reader is done, like ``| head -1``
    err = process.stderr.read()
    assert process.wait(30) == 1
    assert first["state"] == "pending" and err == ""
