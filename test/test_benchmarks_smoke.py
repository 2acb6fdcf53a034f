"""The benchmark harness runs end to end and writes every number it promises.

``python benchmarks/run.py --smoke --runs 2`` runs every workload twice with the fewest rounds
there are. This checks the tool's structure: it completes, prints its table and the spread
across runs, writes JSON with every expected key and positive numbers, combines the runs into
medians, and leaves no process behind. It asserts nothing about speed: these machines are too
noisy for that, and that is what the full run is for. The combining of runs is also checked
on synthetic numbers, without running anything; a SIGTERM in the middle of a run must leave
no process behind, and the benchmark server must exit once its parent's pipe closes.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import selectors
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import analysis, harness, report  # noqa: E402
from benchmarks.server import BenchServer  # noqa: E402
from benchmarks.settings import TARGETS  # noqa: E402

RUN = REPO / "benchmarks" / "run.py"
RUNS = 2
"""Runs of the smoke benchmark: two, so that the combining of runs runs too."""
TIMEOUT = 180.0
"""Seconds for the whole smoke run; it takes about 10."""
MARKER = "VOUCHERIFY_BENCH_SMOKE_ID"
"""An environment variable every process the harness starts inherits: how leftovers are found."""

POSITIVE = [
    # fresh processes: wall (ms) and peak RSS (MiB) of each command
    *(f"{name}_{unit}" for name in ("pass", "import_floor", "import_sdk", "first_call_floor",
                                    "first_call_sdk") for unit in ("wall_ms", "rss_mib")),
    "import_wall_ratio",
    "first_call_wall_ratio",
    # per call: wall and CPU of the SDK and its floor, and the ratios
    *(f"{mode}_{who}_{kind}_us" for mode in ("sync", "aio") for who in ("sdk", "floor")
      for kind in ("wall", "cpu")),
    *(f"{mode}_{kind}_ratio" for mode in ("sync", "aio") for kind in ("wall", "cpu")),
    # sync: urllib3's connection pool directly, and the SDK's ratio to it
    *(f"sync_pool_{kind}_us" for kind in ("wall", "cpu")),
    *(f"sync_vs_pool_{kind}_{what}" for kind in ("wall", "cpu")
      for what in ("ratio", "paired_ratio")),
    "sync_raw_wall_us",
    "sync_server_cpu_per_request_us",
    "sync_server_share",
    # bulk
    "bulk_ideal_eps",
    *(f"bulk_{kind}_{what}" for kind in ("track_events", "threads_floor", "aio_gather",
                                         "aio_floor") for what in ("eps", "fraction")),
    "bulk_track_events_vs_floor",
    "bulk_aio_gather_vs_floor",
    "rate_limit_per_second",
    "rate_limited_eps",
    "rate_limited_fraction",
    "rate_limited_sent",
]
"""Summary numbers that are positive in any run."""
FINITE = [
    "import_sdk_net_ms",
    "import_floor_net_ms",
    "import_net_ratio",
    "import_rss_diff_mib",
    "first_call_rss_diff_mib",
    "rate_limited_429s",
]
"""Summary numbers that may be zero or negative (differences, counts), but are numbers."""
ROW_FIELDS = {"section", "measurement", "value", "floor", "comparison", "target", "status",
              "official", "target_key", "summary_key"}


def _processes_with_marker(value: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"{MARKER}={value}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    run_id = uuid.uuid4().hex
    done = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--runs", str(RUNS), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env={**os.environ, MARKER: run_id},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"stdout": done.stdout, "stderr": done.stderr, "document": json.loads(out.read_text()),
            "run_id": run_id}


def test_prints_the_table(smoke_run: dict[str, Any]) -> None:
    stdout = smoke_run["stdout"]
    assert "| measurement | SDK | floor | SDK vs floor | target | status |" in stdout
    for section in ("**import**", "**per call**", "**bulk**"):
        assert section in stdout
    assert "nproc" in stdout
    assert f"median of {RUNS} runs" in stdout
    assert f"{RUNS} runs took" in stdout
    assert f"Across {RUNS} runs" in stdout
    assert "sync `track_custom_event`: wall per call: x" in stdout.split("Across")[1]
    for index in range(1, RUNS + 1):
        assert f"run {index}/{RUNS}: imports:" in smoke_run["stderr"]


def test_json_has_every_summary_number(smoke_run: dict[str, Any]) -> None:
    summary = smoke_run["document"]["summary"]
    missing = [key for key in POSITIVE + FINITE if key not in summary]
    assert not missing
    not_positive = {key: summary[key] for key in POSITIVE
                    if not (isinstance(summary[key], (int, float)) and summary[key] > 0)}
    assert not not_positive
    for key in FINITE:
        assert isinstance(summary[key], (int, float)) and math.isfinite(summary[key]), key
    assert summary["rate_limited_sent"] == smoke_run["document"]["settings"][
        "rate_limited_events"]
    for run in smoke_run["document"]["per_run"]:
        assert not [key for key in POSITIVE + FINITE if key not in run["summary"]]


def test_json_combines_the_runs_into_medians(smoke_run: dict[str, Any]) -> None:
    document = smoke_run["document"]
    assert document["runs"] == document["meta"]["runs"] == RUNS
    per_run = document["per_run"]
    assert len(per_run) == RUNS
    assert all(run["duration_s"] > 0 and run["notes"] for run in per_run)
    assert document["meta"]["duration_s"] >= sum(run["duration_s"] for run in per_run)
    summary = document["summary"]
    assert set(summary) == set(per_run[0]["summary"])
    for key, value in summary.items():
        values = [run["summary"][key] for run in per_run if run["summary"][key] is not None]
        if values:
            assert value == pytest.approx(statistics.median(values)), key
        else:
            assert value is None, key
    # Every verdict in the table is on the combined (median) number.
    judged = [row for row in document["rows"] if row["status"] in ("PASS", "MISS")]
    assert len(judged) >= 10
    for row in judged:
        assert row["status"] == analysis.verdict(row["target_key"], summary[row["summary_key"]])
    sync_wall = next(row for row in judged if row["summary_key"] == "sync_wall_ratio")
    assert sync_wall["comparison"] == f"x{summary['sync_wall_ratio']:.3f}"
    # The spread across runs: one entry per judged row, each from the per-run numbers.
    spreads = document["across_runs"]
    assert [spread["summary_key"] for spread in spreads] == [row["summary_key"] for row in judged]
    for spread in spreads:
        values = [run["summary"][spread["summary_key"]] for run in per_run]
        target = TARGETS[spread["target_key"]]
        assert spread["low"] == min(values) and spread["high"] == max(values)
        assert spread["median"] == pytest.approx(summary[spread["summary_key"]])
        assert spread["met"] == sum(target.met(value) for value in values)
        assert spread["runs"] == spread["measured"] == RUNS


def test_json_has_meta_rows_and_raw_results(smoke_run: dict[str, Any]) -> None:
    document = smoke_run["document"]
    meta = document["meta"]
    assert meta["mode"] == "smoke"
    assert meta["nproc"] > 0
    assert meta["python"] == ".".join(map(str, sys.version_info[:3]))
    assert meta["date"]
    assert meta["official"]["status"].startswith("skipped")
    assert document["settings"]["mode"] == "smoke"
    rows = document["rows"]
    assert len(rows) >= 10
    for row in rows:
        assert set(row) == ROW_FIELDS
        assert row["status"] in {"PASS", "MISS", "info", "n/a"}
    assert {row["section"] for row in rows} == {"import", "per call", "bulk"}
    pool_rows = [row for row in rows if "connection pool directly" in row["measurement"]]
    assert [row["measurement"].rsplit(": ", 1)[1] for row in pool_rows] == [
        "wall per call", "client CPU per call"]
    assert all(row["section"] == "per call" and row["status"] == "info" for row in pool_rows)
    results = document["results"]
    assert set(results) == {"imports", "calls", "official_calls", "bulk_latency",
                            "bulk_rate_limit"}
    assert results["calls"]["sync"]["same_request"] is True
    assert results["calls"]["sync"]["same_request_pool"] is True
    assert results["calls"]["aio"]["same_request"] is True
    imports = results["imports"]["samples"]
    assert all(len(imports[name]["wall_s"]) == document["settings"]["import_rounds"]
               for name in imports)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_leaves_no_process_behind(smoke_run: dict[str, Any]) -> None:
    assert _processes_with_marker(smoke_run["run_id"]) == []


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_sigterm_mid_run_stops_every_server_and_worker() -> None:
    run_id = uuid.uuid4().hex
    with subprocess.Popen(
        [sys.executable, str(RUN), "--smoke", "--json", os.devnull], cwd=REPO,
        env={**os.environ, MARKER: run_id}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    ) as popen:
        assert popen.stderr is not None
        seen, deadline = b"", time.monotonic() + TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(popen.stderr, selectors.EVENT_READ)
            # The per-call worker runs while the benchmark server serves it.
            while b"per call:" not in seen and time.monotonic() < deadline:
                if selector.select(deadline - time.monotonic()):
                    chunk = os.read(popen.stderr.fileno(), 4096)
                    assert chunk, seen.decode(errors="replace")[-2000:]
                    seen += chunk
        assert b"per call:" in seen
        time.sleep(0.5)
        children = _processes_with_marker(run_id)
        assert len(children) >= 3  # at least the harness, the server and a worker
        popen.send_signal(signal.SIGTERM)
        assert popen.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10.0
    while _processes_with_marker(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with_marker(run_id) == []


def test_server_answers_records_the_last_post_and_stops_with_its_parents_pipe() -> None:
    with BenchServer() as server:
        connection = http.client.HTTPConnection(server.url[len("http://"):], timeout=10.0)
        try:
            connection.request("POST", "/v1/events", body=b'{"event": "x"}',
                               headers={"X-Check": "1"})
            reply = connection.getresponse()
            assert reply.status == 200 and json.loads(reply.read())["object"] == "event"
        finally:
            connection.close()
        last = server.get("/__last")
        assert last["head"].startswith("POST /v1/events HTTP/1.1\r\n")
        assert "X-Check: 1" in last["head"]
        assert base64.b64decode(last["body"]) == b'{"event": "x"}'
        stats = server.get("/__stats")
        assert stats["requests"] == 1 and stats["connections"] >= 2
        assert stats["cpu_seconds"] > 0
        child = server._popen
    # Leaving closed the child's standard input, and it exited on that alone.
    assert child.returncode == 0


def _row(measurement: str, status: str, target_key: str = "", summary_key: str = ""
         ) -> analysis.Row:
    return analysis.Row("per call", measurement, "-", "-", "-", "-", status, "-", target_key,
                        summary_key)


def test_combine_takes_the_median_of_every_number() -> None:
    nan = float("nan")
    first = {"sync_wall_ratio": 0.90, "count": 4.0, "partly_nan": nan, "only_first": 5.0,
             "all_nan": nan}
    second = {"sync_wall_ratio": 1.20, "count": 4.0, "partly_nan": 2.0, "all_nan": nan}
    combined = analysis.combine([first, second])
    assert list(combined) == ["sync_wall_ratio", "count", "partly_nan", "only_first", "all_nan"]
    assert combined["sync_wall_ratio"] == pytest.approx(1.05)  # two runs: the mean of both
    assert combined["count"] == 4.0
    assert combined["partly_nan"] == 2.0  # a NaN run is skipped, not propagated
    assert combined["only_first"] == 5.0
    assert math.isnan(combined["all_nan"])
    assert analysis.partial_keys([first, second]) == {"partly_nan": 1, "only_first": 1}
    third = {"sync_wall_ratio": 0.95, "count": 5.0}
    combined = analysis.combine([first, second, third])
    assert combined["sync_wall_ratio"] == 0.95  # the middle one, not the mean
    assert combined["count"] == 4.0


def test_across_runs_gives_min_median_max_and_runs_that_met_the_target() -> None:
    summaries = [{"sync_wall_ratio": 0.90, "rate_limited_fraction": 0.95},
                 {"sync_wall_ratio": 1.20, "rate_limited_fraction": 0.85},
                 {"sync_wall_ratio": 1.00}]
    rows = [
        _row("sync `track_custom_event`: wall per call", "PASS", "call_ratio", "sync_wall_ratio"),
        _row("first call", "info"),
        _row("`track_events`, 60 events, stand-in limit 50/1 s", "MISS", "rate_fraction",
             "rate_limited_fraction"),
    ]
    spreads = analysis.across_runs(rows, summaries)
    assert [(s.low, s.median, s.high, s.met, s.measured, s.runs) for s in spreads] == [
        (0.90, 1.00, 1.20, 2, 3, 3),
        (0.85, pytest.approx(0.90), 0.95, 1, 2, 3),  # two numbers: the mean of both
    ]
    assert report.render_spreads(spreads, 3) == [
        "Across 3 runs (min / median / max; the status above is on the median):",
        "",
        "- sync `track_custom_event`: wall per call: x0.900 / x1.000 / x1.200 "
        "(2 of 3 runs met <= 1.05)",
        "- `track_events`, 60 events, stand-in limit 50/1 s: 0.850 / 0.900 / 0.950 "
        "(1 of 3 runs met >= 0.90, measured in 2)",
    ]


def test_combined_notes_say_which_runs_had_them() -> None:
    summary = {"sync_raw_wall_us": 50.0, "sync_floor_wall_us": 200.0, "sync_server_share": 0.1}
    notes = report.combined_notes([["churn", "failed"], ["churn"], []], summary,
                                  {"official_sdk_wall_us": 2})
    assert notes[0] == "churn (runs 1 and 2 of 3)"
    assert notes[1] == "failed (run 1 of 3)"
    assert notes[2].startswith("a raw-socket round trip through the server takes 25%")
    assert "official_sdk_wall_us (2)" in notes[3]
    assert report.combined_notes([["churn"], ["churn"]], summary, {})[0] == (
        "churn (every one of the 2 runs)")


def test_cli_takes_a_number_of_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert harness.parse_args([]).runs == 1
    assert harness.parse_args(["--quick", "--runs", "5"]).runs == 5
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit):
            harness.parse_args(["--runs", bad])
        assert "--runs" in capsys.readouterr().err


def test_render_shows_the_spread_only_for_several_runs() -> None:
    meta: dict[str, Any] = {
        "mode": "quick", "date": "2025-01-01T00:00:00+00:00", "nproc": 2, "cpu_model": "cpu",
        "platform": "linux", "loadavg_start": [0.5], "loadavg_end": [0.7], "python": "3.11.7",
        "executable": "python", "versions": {"urllib3": "2", "pydantic": "2", "aiohttp": "3"},
        "git": {"commit": "abc", "dirty": False}, "duration_s": 70.0,
    }
    rows = [_row("sync `track_custom_event`: wall per call", "PASS", "call_ratio",
                 "sync_wall_ratio")]
    spreads = analysis.across_runs(rows, [{"sync_wall_ratio": 0.9}, {"sync_wall_ratio": 1.1}])
    single = report.render({**meta, "runs": 1}, rows, [], spreads[:0])
    assert "quick run, 2025" in single and "run took 70 s" in single
    assert "Across" not in single
    several = report.render({**meta, "runs": 2}, rows, [], spreads)
    assert "quick mode, median of 2 runs, 2025" in several and "2 runs took 70 s" in several
    assert "x0.900 / x1.000 / x1.100 (1 of 2 runs met <= 1.05)" in several
