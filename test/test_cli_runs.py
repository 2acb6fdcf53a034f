"""``voucherify events import`` as real processes: Ctrl-C once and twice, two runs on one
journal, a kill; and outcomes the import must name rightly (unreadable 2xx replies, waits
over max_wait, settings refused, bad cells), ``--version`` and ``local-server``'s messages."""

from __future__ import annotations

import collections
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional

import pytest

import voucherify
from voucherify._version import __version__
from voucherify.bulk import Outcome, track_events
from voucherify.bulk._journal import read_entries
from voucherify.cli.__main__ import main
from voucherify.testing import LocalVoucherify, faults

from conftest import cli_environment

APP_ID = "app-cli-runs-01"
TOKEN = "sk_cli_runs_SECRET_3390"


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify(app_id=APP_ID, app_token=TOKEN) as running:
        yield running


@pytest.fixture
def env(server: LocalVoucherify, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return cli_environment(monkeypatch, server.url, APP_ID, TOKEN)


def events_file(path: Path, count: int) -> Path:
    path.write_text("".join(
        json.dumps({"event": "signed_up", "customer": {"source_id": f"user-{n}"}}) + "\n"
        for n in range(count)
    ))
    return path


def source_ids(server: LocalVoucherify) -> collections.Counter[str]:
    return collections.Counter(e["body"]["customer"]["source_id"] for e in server.events)


def last_states(journal: Path) -> dict[str, str]:
    return {entry["key"]: entry["state"] for entry in read_entries(journal)}


def count_of(err: str, outcome: str) -> int:
    match = re.search(rf"^  {outcome} +(\d+)", err, re.MULTILINE)
    assert match, f"no {outcome!r} count in:\n{err}"
    return int(match.group(1))


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class Child:
    """A ``python -m voucherify.cli`` process whose stderr is collected as it comes."""

    def __init__(self, env: dict[str, str], *argv: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voucherify.cli", *argv], env=env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self._err: list[str] = []
        assert self.process.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stderr,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._err.append(line)

    @property
    def err(self) -> str:
        return "".join(self._err)

    def wait(self, seconds: float) -> int:
        code = self.process.wait(seconds)
        self._reader.join(seconds)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def spawn(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voucherify.cli", *argv], env=env,
                          capture_output=True, text=True, timeout=90, check=False)


def sending(journal: Path) -> list[str]:
    return [key for key, state in last_states(journal).items() if state == "sending"]


# -- Ctrl-C ----------------------------------------------------------------------------------


def test_one_ctrl_c_lets_the_calls_in_flight_end_and_journals_them_as_what_they_are(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path
) -> None:
    data = events_file(tmp_path / "in.ndjson", 40)
    journal = tmp_path / "run.journal"
    server.inject(faults.delay(2.0), times=1000)  # every call is slow: 3 in flight at once
    child = Child(env, "events", "import", str(data), "--journal", str(journal),
                  "--concurrency", "3")
    try:
        wait_for(lambda: len(sending(journal)) == 3, 30, "three calls in flight")
        in_flight = sending(journal)
        child.process.send_signal(signal.SIGINT)
        code = child.wait(30)
    finally:
        child.kill()

    assert code == 130, child.err
    assert "stopped: interrupted (Ctrl-C)" in child.err
    states = last_states(journal)
    # The three calls ended after the interrupt and were journaled as what they were.
    assert all(states[key] == "sent" for key in in_flight), states
    assert "sending" not in states.values() and "not_sent" not in states.values()
    sent = len(server.events)
    assert count_of(child.err, "sent") == sent and 3 <= sent < 40

    server.clear_faults()
    rerun = spawn(env, "events", "import", str(data), "--journal", str(journal))
    assert rerun.returncode == 0, rerun.stderr
    assert count_of(rerun.stderr, "skipped") == sent
    assert source_ids(server) == {f"user-{n}": 1 for n in range(40)}


def test_a_second_ctrl_c_exits_at_once_and_the_rows_in_flight_are_unknown_never_resent(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path
) -> None:
    data = events_file(tmp_path / "in.ndjson", 40)
    journal = tmp_path / "run.journal"
    server.inject(faults.delay(8.0), times=3)  # the three calls in flight outlast the test's
    child = Child(env, "events", "import", str(data), "--journal", str(journal),
                  "--concurrency", "3")
    try:
        wait_for(lambda: len(sending(journal)) == 3, 30, "three calls in flight")
        in_flight = sending(journal)
        child.process.send_signal(signal.SIGINT)
        wait_for(lambda: "Ctrl-C again to exit at once" in child.err, 10, "the first Ctrl-C")
        child.process.send_signal(signal.SIGINT)
        code = child.wait(10)
    finally:
        child.kill()

    assert code == 130, child.err
    assert "interrupted again: exiting without waiting for the calls in flight" in child.err
    assert "a rerun reports them as unknown" in child.err
    states = last_states(journal)
    # Exited before the replies: the rows stay "sending", never "not_sent" (they went out).
    assert all(states[key] == "sending" for key in in_flight), states
    assert "not_sent" not in states.values()
    # The stand-in still records the three requests the process stopped waiting for.
    wait_for(lambda: len(server.events) == 3, 20, "the delayed requests to be recorded")

    rerun = spawn(env, "events", "import", str(data), "--journal", str(journal))
    assert rerun.returncode == 1, rerun.stderr
    assert count_of(rerun.stderr, "unknown") == 3
    assert count_of(rerun.stderr, "sent") == 37
    assert source_ids(server) == {f"user-{n}": 1 for n in range(40)}, "nothing resent"


# -- one journal, one run --------------------------------------------------------------------


def test_a_second_run_on_a_journal_in_use_refuses_and_a_run_after_a_kill_proceeds(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path
) -> None:
    data = events_file(tmp_path / "in.ndjson", 30)
    journal = tmp_path / "run.journal"
    server.inject(faults.delay(3.0), times=2)
    first = Child(env, "events", "import", str(data), "--journal", str(journal),
                  "--concurrency", "2")
    try:
        wait_for(lambda: len(sending(journal)) == 2, 30, "the first run's calls in flight")
        requests = len(server.requests)
        second = spawn(env, "events", "import", str(data), "--journal", str(journal))
        assert second.returncode == 2, second.stderr
        assert "is in use by another run" in second.stderr
        assert "nothing was sent" in second.stderr
        assert len(server.requests) == requests, "the second run sent nothing"

        first.process.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        first.kill()
    # The operating system released the dead run's lock: a new run proceeds.
    wait_for(lambda: len(server.events) == 2, 20, "the two delayed requests")
    third = spawn(env, "events", "import", str(data), "--journal", str(journal))
    assert "in use" not in third.stderr
    assert third.returncode == 1, third.stderr  # the two rows in flight at the kill: unknown
    assert count_of(third.stderr, "unknown") == 2 and count_of(third.stderr, "sent") == 28
    assert source_ids(server) == {f"user-{n}": 1 for n in range(30)}


# -- outcomes, named rightly -----------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_unreadable_2xx_reply_is_counted_sent_and_never_resent(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path / "in.ndjson", 3)
    journal = tmp_path / "run.journal"
    server.inject(faults.raw(200, b"<html>a gateway page</html>", "text/html"))
    command = ["events", "import", str(data), "--journal", str(journal), "--concurrency", "1"]

    code, _, err = cli(capsys, *command)
    again, _, again_err = cli(capsys, *command)

    assert code == 0, err
    assert count_of(err, "sent") == 3 and count_of(err, "rejected") == 0
    assert "line 1: sent, but the reply could not be read: (200)" in err
    assert again == 0 and count_of(again_err, "skipped") == 3
    assert len(server.requests) == 3


def test_a_wait_over_max_wait_stops_the_import_and_a_rerun_sends_the_rest(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = events_file(tmp_path / "in.ndjson", 10)
    journal = tmp_path / "run.journal"
    server.inject(faults.status(429, headers={"Retry-After": "inf"}))
    command = ["events", "import", str(data), "--journal", str(journal), "--concurrency", "1"]

    code, _, err = cli(capsys, *command)
    resumed, _, resumed_err = cli(capsys, *command)

    assert code == 1
    assert "stopped: the API asked to wait without end before the next call" in err
    assert count_of(err, "not sent") == 1
    assert resumed == 0, resumed_err
    assert source_ids(server) == {f"user-{n}": 1 for n in range(10)}


def test_settings_the_sdk_refuses_stop_the_import_with_exit_2_and_nothing_unknown(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = events_file(tmp_path / "in.ndjson", 20)
    journal = tmp_path / "run.journal"
    monkeypatch.setenv("VOUCHERIFY_APP_ID", "приложение")  # not Latin-1: no header carries it

    code, _, err = cli(capsys, "events", "import", str(data), "--journal", str(journal))

    assert code == 2, err
    assert "stopped: the SDK refused the settings" in err
    assert server.events == []
    assert set(last_states(journal).values()) <= {"not_sent"}


def test_a_bad_row_never_stops_the_import(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "in.csv"
    deep_but_parsable = "[" * 40 + "]" * 40
    data.write_text(
        "event,customer.source_id,metadata.x:json\n"
        "signed_up,u-1,1\n"
        f"signed_up,u-2,\"{'[' * 100_000}\"\n"
        f"signed_up,u-3,\"{deep_but_parsable}\"\n"
        "signed_up,u-4,NaN\n"
        "signed_up,u-5,2\n"
    )

    code, _, err = cli(capsys, "events", "import", str(data))

    assert code == 1
    assert "line 3: column metadata.x:json: not JSON the SDK can send (nested too deeply)" in err
    assert "line 4: invalid EventsCreateRequestBody: metadata.x" in err
    assert "line 5: invalid EventsCreateRequestBody: metadata.x: must be a finite number" in err
    assert "stopped" not in err
    assert set(source_ids(server)) == {"u-1", "u-5"}
    assert count_of(err, "invalid") == 3


def test_the_library_and_the_command_count_earlier_refusals_alike(
    server: LocalVoucherify, env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bodies: list[Any] = [
        {"event": "signed_up", "customer": {"source_id": "fine-1"}},
        {"event": "signed_up", "customer": {"id": "cust_does_not_exist"}},  # a 404
        {"event": "signed_up", "customer": {"source_id": "fine-2"}},
    ]
    data = tmp_path / "in.ndjson"
    data.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    journal = tmp_path / "run.journal"
    cli(capsys, "events", "import", str(data), "--journal", str(journal))

    code, _, err = cli(capsys, "events", "import", str(data), "--journal", str(journal))
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key.update({"X-App-Id": APP_ID, "X-App-Token": TOKEN})
    with voucherify.ApiClient(configuration) as client:
        library = track_events(voucherify.EventsApi(client), bodies, journal=journal)

    assert code == 1
    for outcome in Outcome:
        label = outcome.value.replace("_", " ")
        assert count_of(err, label) == library.counts[outcome], outcome
    assert library.counts[Outcome.SKIPPED] == 2 and library.counts[Outcome.REJECTED] == 1
    assert len(server.requests) == 3


# -- --version and local-server --------------------------------------------------------------


def test_version_prints_the_package_version(env: dict[str, str]) -> None:
    done = spawn(env, "--version")
    assert done.returncode == 0
    assert done.stdout.startswith(f"voucherify {__version__} (Python ")


@pytest.mark.parametrize(("content", "says"), [
    (None, "cannot read --events-file"),
    ("not json", "is not JSON"),
    ("[1]", "must hold a JSON object"),
    ('{"signed_up": {"plan": "colour"}}', "type 'colour' is not one of"),
])
def test_local_server_messages_name_its_own_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Optional[str], says: str
) -> None:
    events = tmp_path / "events.json"
    if content is not None:
        events.write_text(content)

    code, _, err = cli(capsys, "local-server", "--events-file", str(events))

    assert code == 2
    assert err.startswith("voucherify: local-server: ") and "--events-file" in err
    assert says in err
    assert "voucherify.testing" not in err


def test_local_server_port_out_of_range_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(capsys, "local-server", "--port", "70000")
    assert code == 2 and "--port" in err and "0 to 65535" in err


def test_the_keys_local_server_generates_are_named_by_its_own_flags(
    env: dict[str, str],
) -> None:
    usage = spawn(env, "local-server", "--help").stdout
    child = Child(env, "local-server")  # app id and token from env: the client keys generated
    try:
        wait_for(lambda: child.err.count("generated") == 2, 15, "the generated keys")
        child.process.send_signal(signal.SIGINT)
        assert child.wait(10) == 0
    finally:
        child.kill()
    flags = re.findall(r"^generated (--[\w-]+) ", child.err, re.MULTILINE)
    assert flags == ["--client-app-id", "--client-token"]
    for flag in flags:
        assert flag in usage
