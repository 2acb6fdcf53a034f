"""The outbox benchmark runs end to end, as a real process, and writes every number it promises.

``python benchmarks/outbox.py --smoke`` runs every measurement with the fewest rounds (and a
5,000-event backlog instead of 100,000). This checks the tool's shape: it completes, prints
its table, writes JSON whose rows, summary and raw samples agree with each other and with the
settings, drains every outbox it fills, and leaves no process behind, also when it is sent
SIGTERM mid-run. It asserts nothing about speed: that is what the full run is for.
"""

from __future__ import annotations

import json
import math
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import outbox as bench  # noqa: E402
from benchmarks.settings import KEYS  # noqa: E402

SCRIPT = REPO / "benchmarks" / "outbox.py"
TIMEOUT = 120.0
"""Seconds for the whole smoke run; it takes about 10."""
MARKER = "VOUCHERIFY_OUTBOX_BENCH_ID"
"""An environment variable every process the benchmark starts inherits: how leftovers are found."""
SECTIONS = {"track", "asyncio", f"asyncio, {bench.SMOKE.rivals} rival writers", "drain",
            "backlog"}
ROW_FIELDS = {"section", "measurement", "value", "floor", "comparison", "target", "status",
              "summary_key", "target_key"}
POSITIVE = [
    *(f"{name}_{q}_{unit}" for name in ("track_idle", "track_busy", "inline")
      for q in ("p50", "p99") for unit in ("ms",)),
    *(f"{name}_{q}_ratio" for name in ("track_idle", "track_busy") for q in ("p50", "p99")),
    *(f"{loop}_{name}_{what}" for loop in ("loop", "contended")
      for name in ("none", "direct", "async")
      for what in ("worst_lag_ms", "median_max_lag_ms", "p99_lag_ms")),
    *(f"{loop}_{name}_call_{q}_ms" for loop in ("loop", "contended")
      for name in ("direct", "async") for q in ("p50", "p99")),
    "rival_tracks",
    "drain_limit_per_second", "drain_best_possible_eps",
    *(f"drain_{p}p_{what}" for p in (1, 4)
      for what in ("eps", "fraction", "best_fraction", "window_fraction")),
    "memory_backlog_rss_mib", "memory_page_rss_mib", "memory_backlog_vmhwm_mib",
    "memory_page_vmhwm_mib", "memory_backlog_first_open_ms", "memory_page_first_open_ms",
    "open_backlog_ms", "open_empty_ms", "open_ratio", "stats_backlog_ms", "stats_empty_ms",
    "backlog_build_s", "backlog_file_mib",
]
"""Summary numbers that are positive in any run."""
FINITE = ["memory_rss_diff_mib", "drain_1p_429s", "drain_4p_429s"]
"""Summary numbers that may be zero or negative, but are numbers."""


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
    folder = tmp_path_factory.mktemp("outbox-bench")
    out = folder / "smoke.json"
    run_id = uuid.uuid4().hex
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json", str(out), "--dir", str(folder)],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=REPO,
        env={**os.environ, MARKER: run_id}, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"stdout": done.stdout, "stderr": done.stderr, "text": out.read_text(),
            "document": json.loads(out.read_text()), "run_id": run_id, "folder": folder}


def test_prints_the_table(smoke_run: dict[str, Any]) -> None:
    stdout = smoke_run["stdout"]
    assert "## voucherify outbox benchmark: smoke run" in stdout
    assert "| section | measurement | outbox | floor | outbox vs floor | target | status |" in (
        stdout)
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + len(smoke_run["document"]["rows"])
    assert {line.split(" | ")[0][2:] for line in lines[1:]} == SECTIONS
    assert "nproc" in stdout and "load average" in stdout
    assert stdout.rstrip().endswith(".json")
    for step in ("track:", "drain:", "backlog:"):
        assert step in smoke_run["stderr"]


def test_json_has_every_summary_number(smoke_run: dict[str, Any]) -> None:
    summary = smoke_run["document"]["summary"]
    assert not [key for key in POSITIVE + FINITE if key not in summary]
    not_positive = {key: summary[key] for key in POSITIVE
                    if not (isinstance(summary[key], (int, float)) and summary[key] > 0)}
    assert not not_positive
    for key in FINITE:
        assert isinstance(summary[key], (int, float)) and math.isfinite(summary[key]), key
    assert summary["drain_1p_429s"] >= 0 and summary["drain_4p_429s"] >= 0
    # The inline floor is the stand-in's added latency and more.
    latency_ms = smoke_run["document"]["settings"]["latency"] * 1e3
    assert summary["inline_p50_ms"] >= latency_ms


def test_rows_agree_with_the_summary_and_the_targets(smoke_run: dict[str, Any]) -> None:
    document = smoke_run["document"]
    rows, summary = document["rows"], document["summary"]
    assert {row["section"] for row in rows} == SECTIONS
    for row in rows:
        assert set(row) == ROW_FIELDS
        assert row["status"] in {"PASS", "MISS", "info", "n/a"}
        assert row["summary_key"] in summary, row
    judged = [row for row in rows if row["status"] in ("PASS", "MISS")]
    assert {row["target_key"] for row in judged} == set(bench.TARGETS)
    for row in judged:
        target = bench.TARGETS[row["target_key"]]
        assert row["status"] == ("PASS" if target.met(summary[row["summary_key"]]) else "MISS")
        assert row["target"].startswith(target.text)


def test_raw_results_match_the_settings(smoke_run: dict[str, Any]) -> None:
    document = smoke_run["document"]
    settings, results = document["settings"], document["results"]
    assert settings == bench.SMOKE.as_dict()
    assert document["meta"]["mode"] == "smoke"
    assert document["meta"]["python"] == ".".join(map(str, sys.version_info[:3]))
    samples = results["track"]["samples"]
    rounds = settings["track_rounds"]
    assert len(samples["track_idle"]) == len(samples["track_busy"]) == (
        rounds * settings["tracks_per_round"])
    assert len(samples["inline"]) == rounds * settings["inline_per_round"]
    for phase in ("none", "direct", "async"):
        assert len(results["track"]["loop"][phase]["max_lag_s"]) == settings["loop_rounds"]
    for phase in ("direct", "async"):
        assert len(results["track"]["loop"][phase]["call_s"]) == (
            settings["loop_rounds"] * settings["loop_tracks"])
        assert len(results["track"]["loop_contended"][phase]["call_s"]) == (
            settings["loop_rounds"] * settings["contended_tracks"])
    assert len(results["track"]["rival_tracks"]) == settings["rivals"]
    # Every drain run emptied its outbox, every event recorded by the stand-in once.
    drain = results["drain"]
    assert [run["processes"] for run in drain["runs"]] == [1, 4] * settings["drain_repeats"]
    for run in drain["runs"]:
        assert len(run["children"]) == run["processes"]
        assert run["delivered"] == run["server_recorded"] == settings["drain_events"]
        assert all(child["rejected"] == child["unknown"] == 0 for child in run["children"])
        assert run["per_window"] and all(count > 0 for count in run["per_window"])
    backlog = results["backlog"]
    for case in ("backlog", "page"):
        assert len(backlog["memory"][case]) == settings["memory_rounds"]
        assert all(r["delivered"] >= settings["page"] and r["maxrss_kib"] > 0
                   for r in backlog["memory"][case])
    for case in ("backlog", "empty"):
        assert len(backlog["open"][case]["open_s"]) == settings["open_rounds"]
    assert backlog["file_bytes"]["backlog"] > backlog["file_bytes"]["page"]


def test_no_key_in_the_output(smoke_run: dict[str, Any]) -> None:
    for text in (smoke_run["stdout"], smoke_run["stderr"], smoke_run["text"]):
        assert KEYS["X-App-Token"] not in text


def test_outbox_files_are_removed(smoke_run: dict[str, Any]) -> None:
    folder: Path = smoke_run["folder"]
    assert sorted(path.name for path in folder.iterdir()) == ["smoke.json"]


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_leaves_no_process_behind(smoke_run: dict[str, Any]) -> None:
    assert _processes_with_marker(smoke_run["run_id"]) == []


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_sigterm_mid_drain_stops_every_child(tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    with subprocess.Popen(
        [sys.executable, str(SCRIPT), "--smoke", "--json", os.devnull, "--dir", str(tmp_path)],
        cwd=REPO, env={**os.environ, MARKER: run_id}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as popen:
        assert popen.stderr is not None
        seen, deadline = b"", time.monotonic() + TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(popen.stderr, selectors.EVENT_READ)
            while b"drain:" not in seen and time.monotonic() < deadline:
                if selector.select(deadline - time.monotonic()):
                    chunk = os.read(popen.stderr.fileno(), 4096)
                    assert chunk, seen.decode(errors="replace")[-2000:]
                    seen += chunk
        assert b"drain:" in seen
        # The drain runs while the stand-in and at least one drain child are up.
        deadline = time.monotonic() + 30.0
        while len(_processes_with_marker(run_id)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_processes_with_marker(run_id)) >= 3
        popen.send_signal(signal.SIGTERM)
        assert popen.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10.0
    while _processes_with_marker(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with_marker(run_id) == []
    assert list(tmp_path.iterdir()) == []


def test_quantile_is_the_nearest_rank() -> None:
    values = [float(number) for number in range(1, 101)]
    assert bench._quantile(values, 0.50) == 50.0
    assert bench._quantile(values, 0.99) == 99.0
    assert bench._quantile([3.0, 1.0, 2.0], 0.99) == 3.0
    assert math.isnan(bench._quantile([], 0.5))


def test_per_window_counts_whole_windows_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    bench.build_outbox(path, 7)
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    finished = [100.0, 100.2, 100.9, 101.1, 101.5, 102.3, 102.4]  # windows of 3, 2, 2
    ids = [row[0] for row in db.execute("SELECT id FROM events ORDER BY seq")]
    for event_id, at in zip(ids, finished):
        db.execute("UPDATE events SET state = 'delivered', updated_at = ? WHERE id = ?",
                   (at, event_id))
    db.close()
    assert bench.per_window(str(path), 10) == [3, 2]  # the last, partial window left out
