"""The benchmark run: every workload in turn, then the table and the JSON file."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Optional

from benchmarks import analysis
from benchmarks.children import REPO, ChildError, Interpreter, official_sdk, run
from benchmarks.imports import measure_imports
from benchmarks.report import machine, notes_for, render
from benchmarks.servers import ServerProcess
from benchmarks.settings import FULL, QUICK, SMOKE, Settings
from benchmarks.workloads import (
    measure_bulk_latency,
    measure_bulk_rate_limit,
    measure_calls,
    measure_official_calls,
)

DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"
DEFAULT_OFFICIAL = REPO / ".venv-official" / "bin" / "python"
PROBE = (
    "import json, voucherify; "
    "print(json.dumps({'version': voucherify.__version__, 'file': voucherify.__file__}))"
)


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Measure the SDK against its floors; print a table, write JSON.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer rounds: under a minute")
    size.add_argument("--smoke", action="store_true",
                      help="the fewest rounds that exercise everything (for tests); numbers "
                           "are not meaningful; skips the official SDK unless --official")
    default_json = DEFAULT_JSON.relative_to(REPO)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                        help=f"where to write the results (default {default_json})")
    official = parser.add_mutually_exclusive_group()
    official.add_argument("--official", metavar="PYTHON",
                          help="a python with the official voucherify installed (default: "
                               ".venv-official/bin/python when it exists)")
    official.add_argument("--no-official", action="store_true", help="skip the reference column")
    return parser.parse_args(argv)


def log(started: float, message: str) -> None:
    sys.stderr.write(f"[{time.monotonic() - started:5.1f} s] {message}\n")
    sys.stderr.flush()


def resolve_official(args: argparse.Namespace) -> tuple[Optional[Interpreter], dict[str, Any]]:
    """The official SDK's interpreter, or None and why not."""
    if args.no_official:
        return None, {"status": "skipped (--no-official)"}
    python = args.official
    if python is None:
        if args.smoke:
            return None, {"status": "skipped (--smoke)"}
        if not DEFAULT_OFFICIAL.exists():
            return None, {"status": f"unavailable: no {DEFAULT_OFFICIAL.relative_to(REPO)}"}
        python = str(DEFAULT_OFFICIAL)
    interpreter = official_sdk(python)
    try:
        _, out = run(interpreter, ["-c", PROBE], timeout=60.0)
        found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    except (ChildError, OSError, ValueError, IndexError) as error:
        return None, {"status": f"unavailable: {error}", "python": python}
    if Path(found["file"]).resolve().is_relative_to(REPO / "voucherify"):
        return None, {"status": "unavailable: that python imports this repository's voucherify",
                      "python": python}
    return interpreter, {"status": "ok", "python": python, **found}


def measure(settings: Settings, official: Optional[Interpreter], started: float
            ) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with ServerProcess() as server:
        log(started, f"imports: {settings.import_rounds} rounds of fresh processes")
        results["imports"] = measure_imports(settings, server, official)
        log(started, "per call: sync and aio, interleaved with their floors")
        results["calls"] = measure_calls(settings, server)
        if official is not None:
            log(started, "per call: the official SDK")
            results["official_calls"] = measure_official_calls(settings, server, official)
        else:
            results["official_calls"] = {"status": "skipped"}
    log(started, f"bulk: {settings.bulk_events} events against a "
                 f"{settings.bulk_latency * 1e3:.0f} ms server")
    results["bulk_latency"] = measure_bulk_latency(settings)
    log(started, f"bulk: {settings.rate_limited_events} events under a "
                 f"{settings.rate_limit}/s limit")
    results["bulk_rate_limit"] = measure_bulk_rate_limit(settings)
    return results


def _cell(status: str) -> str:
    """A status for the reference column: one short line, no table syntax."""
    text = status.replace("|", "/").replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def summarize(results: dict[str, Any], official_status: str
              ) -> tuple[dict[str, float], list[analysis.Row]]:
    summary = analysis.import_summary(results["imports"])
    summary.update(analysis.call_summary("sync", results["calls"]["sync"]))
    summary.update(analysis.call_summary("aio", results["calls"]["aio"]))
    official_calls = results["official_calls"]
    official_call_summary: Optional[dict[str, float]] = None
    if official_calls.get("status") == "ok":
        official_call_summary = analysis.call_summary("official", official_calls)
        summary.update(official_call_summary)
    summary.update(analysis.bulk_summary(results["bulk_latency"], results["bulk_rate_limit"]))
    import_status = _cell(
        results["imports"]["official_status"] if official_status == "ok" else official_status
    )
    calls_status = _cell(
        official_calls.get("status", "skipped") if official_status == "ok" else official_status
    )
    rows = analysis.import_rows(summary, None if import_status == "ok" else import_status)
    rows += analysis.call_rows(summary, "sync", "sync `track_custom_event`", calls_status,
                               official_call_summary)
    rows += analysis.call_rows(summary, "aio", "aio `track_custom_event`",
                               "n/a (no async client)", None)
    rows.append(analysis.server_row(summary))
    rows += analysis.bulk_rows(summary, results["bulk_latency"], results["bulk_rate_limit"])
    return summary, rows


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null, so that the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def _stop_on_sigterm() -> None:
    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, stop)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    _stop_on_sigterm()
    settings = SMOKE if args.smoke else QUICK if args.quick else FULL
    started = time.monotonic()
    meta = machine(settings.mode)
    official, meta["official"] = resolve_official(args)
    log(started, f"{settings.mode} run; official SDK: {meta['official']['status']}")
    results = measure(settings, official, started)
    summary, rows = summarize(results, meta["official"]["status"])
    meta["loadavg_end"] = list(os.getloadavg())
    meta["duration_s"] = time.monotonic() - started
    notes = notes_for(results, summary)
    document = {
        "meta": meta,
        "settings": settings.as_dict(),
        "summary": summary,
        "rows": [row.as_dict() for row in rows],
        "notes": notes,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(_json_safe(document), indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(render(meta, rows, notes))
    sys.stdout.write(f"\nJSON: {args.json}\n")
    return 0
