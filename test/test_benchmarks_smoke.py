"""The benchmark harness runs end to end and writes every number it promises.

``python benchmarks/run.py --smoke`` runs every workload with the fewest rounds there are.
This checks the tool's structure: it completes, prints its table, writes JSON with every
expected key and positive numbers, and leaves no process behind. It asserts nothing about
speed: these machines are too noisy for that, and that is what the full run is for.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "benchmarks" / "run.py"
TIMEOUT = 120.0
"""Seconds for the whole smoke run; it takes about 5."""
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
              "official"}


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
        [sys.executable, str(RUN), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env={**os.environ, MARKER: run_id},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"stdout": done.stdout, "document": json.loads(out.read_text()), "run_id": run_id}


def test_prints_the_table(smoke_run: dict[str, Any]) -> None:
    stdout = smoke_run["stdout"]
    assert "| measurement | SDK | floor | SDK vs floor | target | status |" in stdout
    for section in ("**import**", "**per call**", "**bulk**"):
        assert section in stdout
    assert "nproc" in stdout


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
