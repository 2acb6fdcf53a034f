"""Bulk tracking: pacing under a rate limit, outcomes, early stop, journal and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import voucherify
from voucherify.bulk import Outcome, track_events
from voucherify.testing import LocalVoucherify, faults


def rows(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"event": "imported", "customer": {"source_id": f"c{n % 20}"}, "metadata": {"row": n}}
        for n in range(start, start + count)
    ]


def api_for(server: LocalVoucherify, token: str | None = None) -> voucherify.EventsApi:
    configuration = voucherify.Configuration(host=server.url)
    configuration.api_key["X-App-Id"] = server.app_id
    configuration.api_key["X-App-Token"] = token or server.app_token
    return voucherify.EventsApi(voucherify.ApiClient(configuration))


def rows_on_server(server: LocalVoucherify) -> Counter[int]:
    return Counter(e["body"]["metadata"]["row"] for e in server.events)


@pytest.fixture
def server() -> Iterator[LocalVoucherify]:
    with LocalVoucherify() as running:
        yield running


def test_every_item_is_sent_exactly_once(server: LocalVoucherify) -> None:
    seen: list[int] = []
    result = track_events(api_for(server), rows(500), concurrency=8,
                          on_result=lambda item: seen.append(item.index))
    assert result.counts[Outcome.SENT] == 500 and result.total == 500
    assert result.ok and result.stopped is None
    assert sorted(seen) == list(range(500))
    assert rows_on_server(server) == Counter(range(500))


def test_paced_below_the_rate_limit_at_near_its_rate() -> None:
    limit, window, count = 200, 1.0, 1000
    with LocalVoucherify(rate_limit=(limit, window)) as server:
        result = track_events(api_for(server), rows(count), concurrency=16)
        refused = server.rate_limited
    rate = count / result.elapsed
    assert result.counts[Outcome.SENT] == count
    assert refused == 0, "the pacer should slow down before the API refuses"
    assert rate >= 0.9 * limit / window, f"{rate:.0f}/s"
    assert rate <= 1.05 * limit / window, f"{rate:.0f}/s is over the limit"


def test_a_429_pauses_every_worker_and_the_item_goes_again(server: LocalVoucherify) -> None:
    server.inject(faults.status(429, retry_after=1), times=3)
    started = time.monotonic()
    result = track_events(api_for(server), rows(100), concurrency=8)
    assert result.counts[Outcome.SENT] == 100
    assert result.rate_limited == 3
    assert time.monotonic() - started >= 1.0
    assert rows_on_server(server) == Counter(range(100))


def test_max_rate_caps_the_calls_per_second(server: LocalVoucherify) -> None:
    result = track_events(api_for(server), rows(60), concurrency=8, max_rate=100)
    assert result.counts[Outcome.SENT] == 60
    assert 0.55 <= result.elapsed <= 1.5


def test_each_outcome_is_reported(server: LocalVoucherify) -> None:
    items = rows(6)
    items[1]["event"] = "x" * 301                        # invalid: never sent
    items[3]["customer"] = {"id": "cust_nobody"}         # the API says 404
    server.inject(faults.drop_after_processing(), path="/v1/events")   # item 0's request
    server.inject(faults.status(503), path="/v1/events")               # item 2's request
    results: dict[int, Any] = {}
    result = track_events(api_for(server), items, concurrency=1,
                          on_result=lambda item: results.__setitem__(item.index, item))
    assert results[0].outcome is Outcome.UNKNOWN          # recorded, reply lost
    assert results[1].outcome is Outcome.INVALID
    assert "at most 300 characters" in str(results[1].error)
    assert results[2].outcome is Outcome.UNKNOWN          # the 503
    assert results[3].outcome is Outcome.REJECTED
    assert isinstance(results[3].error, voucherify.NotFoundException)
    assert {results[4].outcome, results[5].outcome} == {Outcome.SENT}
    assert result.counts[Outcome.UNKNOWN] == 2 and len(result.unknown) == 2
    assert {item.index for item in result.rejected} == {1, 3}
    assert not result.ok


def test_unauthorized_stops_the_run_early(server: LocalVoucherify, tmp_path: Path) -> None:
    journal = tmp_path / "run.journal"
    taken: list[int] = []

    def items() -> Iterator[dict[str, Any]]:
        for n, row in enumerate(rows(200)):
            taken.append(n)
            yield row

    result = track_events(api_for(server, token="wrong"), items(), concurrency=4,
                          journal=journal)
    assert result.stopped is not None and result.stopped.startswith("401")
    assert len(server.requests) <= 4
    # The keys were refused, not the items: not sent, and nothing more read or sent.
    assert result.counts[Outcome.NOT_SENT] == result.total <= 8
    assert len(taken) <= 8
    # With the right keys, a rerun sends everything, the refused items included.
    again = track_events(api_for(server), rows(200), concurrency=4, journal=journal)
    assert again.counts[Outcome.SENT] == 200 and again.ok


def test_a_setting_the_sdk_refuses_stops_the_run_without_sending(tmp_path: Path) -> None:
    configuration = voucherify.Configuration(host="http://events.example")  # keys in clear
    configuration.api_key.update({"X-App-Id": "a", "X-App-Token": "b"})
    with voucherify.ApiClient(configuration) as client:
        result = track_events(voucherify.EventsApi(client), rows(50), concurrency=2)
    assert result.stopped is not None and "plain http://" in result.stopped
    assert result.counts[Outcome.NOT_SENT] == result.total <= 4


def test_a_failing_input_stops_the_run_and_is_raised(server: LocalVoucherify) -> None:
    def items() -> Iterator[dict[str, Any]]:
        yield from rows(10)
        raise RuntimeError("the input broke")

    with pytest.raises(RuntimeError, match="the input broke"):
        track_events(api_for(server), items(), concurrency=2)
    assert rows_on_server(server) == Counter(range(10))


def test_the_caller_can_stop_a_run(server: LocalVoucherify) -> None:
    import threading

    stop = threading.Event()
    seen: list[int] = []

    def on_result(item: Any) -> None:
        seen.append(item.index)
        if len(seen) == 20:
            stop.set()

    result = track_events(api_for(server), rows(1000), concurrency=2, on_result=on_result,
                          stop=stop)
    assert result.stopped == "stopped by the caller"
    assert 20 <= result.total <= 24
    assert len(server.events) == result.counts[Outcome.SENT]


def test_journal_resume_skips_what_was_done(server: LocalVoucherify, tmp_path: Path) -> None:
    journal = tmp_path / "run.journal"
    server.inject(faults.drop_after_processing(), path="/v1/events")
    server.inject(faults.reset(), path="/v1/events")       # not processed: unknown to the client
    first = track_events(api_for(server), rows(20), concurrency=1, journal=journal)
    assert first.counts[Outcome.UNKNOWN] == 2 and first.counts[Outcome.SENT] == 18

    second = track_events(api_for(server), rows(20), concurrency=4, journal=journal)
    assert second.counts[Outcome.SKIPPED] == 18
    assert second.counts[Outcome.UNKNOWN] == 2, "unknown items are never sent again by default"
    assert len(server.events) == 19  # the dropped reply's event, and 18 sent

    third = track_events(api_for(server), rows(20), concurrency=4, journal=journal,
                         resend_unknown=True)
    assert third.counts[Outcome.SENT] == 2 and third.counts[Outcome.SKIPPED] == 18
    assert third.ok
    assert rows_on_server(server)[0] == 2  # the dropped one, resent on request: a duplicate
    assert all(rows_on_server(server)[n] == 1 for n in range(1, 20))


def test_not_sent_items_are_sent_on_the_next_run(tmp_path: Path) -> None:
    journal = tmp_path / "run.journal"
    with LocalVoucherify() as server:
        url, app_id, token = server.url, server.app_id, server.app_token
    configuration = voucherify.Configuration(host=url)  # nothing listens there now
    configuration.api_key.update({"X-App-Id": app_id, "X-App-Token": token})
    with voucherify.ApiClient(configuration) as client:
        first = track_events(voucherify.EventsApi(client), rows(5), journal=journal)
    assert first.counts[Outcome.NOT_SENT] == 5
    with LocalVoucherify() as server:
        second = track_events(api_for(server), rows(5), journal=journal)
        assert second.counts[Outcome.SENT] == 5
        assert rows_on_server(server) == Counter(range(5))


def test_journal_survives_a_line_cut_short(server: LocalVoucherify, tmp_path: Path) -> None:
    journal = tmp_path / "run.journal"
    track_events(api_for(server), rows(3), journal=journal)
    with journal.open("a") as file:
        file.write('{"key":"9:abc","sta')  # a process killed mid-write
    again = track_events(api_for(server), rows(4), journal=journal)
    assert again.counts[Outcome.SKIPPED] == 3 and again.counts[Outcome.SENT] == 1
    lines = journal.read_text().splitlines()
    assert all(json.loads(line) for line in lines[-2:])


@pytest.mark.parametrize(("concurrency", "max_rate"), [(0, None), (1, 0), (1, -5.0)])
def test_bad_settings_are_refused(concurrency: int, max_rate: Any) -> None:
    with pytest.raises(voucherify.ApiValueError):
        track_events(voucherify.EventsApi(voucherify.ApiClient()), [], concurrency=concurrency,
                     max_rate=max_rate)


CHILD = textwrap.dedent("""
    import json, os, sys
    import voucherify
    from voucherify.bulk import track_events
    configuration = voucherify.Configuration(host=os.environ["VF_HOST"])
    configuration.api_key["X-App-Id"] = os.environ["VF_ID"]
    configuration.api_key["X-App-Token"] = os.environ["VF_TOKEN"]
    rows = [{"event": "imported", "customer": {"source_id": f"c{n % 20}"},
             "metadata": {"row": n}} for n in range(int(os.environ["VF_ROWS"]))]
    with voucherify.ApiClient(configuration) as client:
        result = track_events(voucherify.EventsApi(client), rows, concurrency=8,
                              journal=os.environ["VF_JOURNAL"])
    print(json.dumps({k.value: v for k, v in result.counts.items()}))
""")


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def open_items(journal: Path) -> int:
    """Items whose last journal line is ``sending``: sent, or about to be, with no outcome."""
    states: dict[str, str] = {}
    for line in journal.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        states[entry["key"]] = entry["state"]
    return sum(1 for state in states.values() if state == "sending")


def test_sigkill_mid_run_then_rerun_tracks_every_row_exactly_once(tmp_path: Path) -> None:
    total = 400
    journal = tmp_path / "killed.journal"
    with LocalVoucherify() as server:
        env = {**os.environ, "VF_HOST": server.url, "VF_ID": server.app_id,
               "VF_TOKEN": server.app_token, "VF_ROWS": str(total), "VF_JOURNAL": str(journal)}
        child = subprocess.Popen([sys.executable, "-c", CHILD], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: len(server.events) >= 100, 30, "the run to get going")
            # From now on replies come late, so every worker ends up waiting on one: the
            # moment to kill is then one where each open item is known to have been sent.
            server.inject(faults.delay(2.0), times=total)
            wait_for(lambda: open_items(journal) == 8, 10, "all workers to wait on replies")
            time.sleep(0.2)
            assert open_items(journal) == 8
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL
        server.clear_faults()
        # The server still processes the 8 requests the dead process was waiting on.
        wait_for(lambda: sum(r["fault"] == "delay" for r in server.requests) == 8, 10,
                 "the delayed requests")

        rerun = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                               text=True, timeout=120, check=True)
        counts = json.loads(rerun.stdout)
        on_server = rows_on_server(server)
    assert counts["unknown"] == 8, "the 8 in flight at the kill are not sent again"
    assert counts["skipped"] + counts["unknown"] + counts["sent"] == total
    assert on_server == Counter(range(total)), "every row exactly once on the server"
