"""The benchmark run: every workload in turn (N times with ``--runs N``), then the table and
the JSON file."""

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
from benchmarks.measure import (
    REPO,
    ChildError,
    Interpreter,
    measure_bulk_latency,
    measure_bulk_rate_limit,
    measure_calls,
    measure_imports,
    measure_official_calls,
    official_sdk,
    run,
)
from benchmarks.report import combined_notes, machine, render, result_notes, summary_notes
from benchmarks.server import BenchServer
from benchmarks.settings import FULL, QUICK, SMOKE, Settings

DEFAULT_JSON = REPO / "benchmarks" / "results" / "latest.json"
DEFAULT_OFFICIAL = REPO / ".venv-official" / "bin" / "python"
PROBE = ("import json, voucherify; "
         "print(json.dumps({'version': voucherify.__version__, 'file': voucherify.__file__}))")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Measure the SDK against its floors; print a table, write JSON.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer rounds: under a minute")
    size.add_argument("--smoke", action="store_true",
                      help="the fewest rounds that exercise everything (for tests); numbers "
                           "are not meaningful; skips the official SDK unless --official")
    parser.add_argument("--runs", type=_positive, default=1, metavar="N",
                        help="measure everything N times in a row and report each number's "
                             "median across the runs, with the spread of each judged one "
                             "(default 1; the README's table uses 5)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                        help="where to write the results (default "
                             f"{DEFAULT_JSON.relative_to(REPO)})")
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
    if python is None and args.smoke:
        return None, {"status": "skipped (--smoke)"}
    if python is None and not DEFAULT_OFFICIAL.exists():
        return None, {"status": f"unavailable: no {DEFAULT_OFFICIAL.relative_to(REPO)}"}
    python = python or str(DEFAULT_OFFICIAL)
    interpreter = official_sdk(python)
    try:
        found: dict[str, Any] = json.loads(
            run(interpreter, ["-c", PROBE], timeout=60.0)[1].strip().splitlines()[-1])
    except (ChildError, OSError, ValueError, IndexError) as error:
        return None, {"status": f"unavailable: {error}", "python": python}
    if Path(found["file"]).resolve().is_relative_to(REPO / "voucherify"):
        return None, {"status": "unavailable: that python imports this repository's voucherify",
                      "python": python}
    return interpreter, {"status": "ok", "python": python, **found}


def measure(settings: Settings, official: Optional[Interpreter], started: float,
            prefix: str = "") -> dict[str, Any]:
    """Every workload once. ``prefix``: put before every log line ("run 2/5: ")."""
    results: dict[str, Any] = {"official_calls": {"status": "skipped"}}
    with BenchServer() as server:
        log(started, f"{prefix}imports: {settings.import_rounds} rounds of fresh processes")
        results["imports"] = measure_imports(settings, server, official)
        log(started, f"{prefix}per call: sync and aio, interleaved with their floors")
        results["calls"] = measure_calls(settings, server)
        if official is not None:
            log(started, f"{prefix}per call: the official SDK")
            results["official_calls"] = measure_official_calls(settings, server, official)
    log(started, f"{prefix}bulk: {settings.bulk_events} events against a "
                 f"{settings.bulk_latency * 1e3:.0f} ms server")
    results["bulk_latency"] = measure_bulk_latency(settings)
    log(started, f"{prefix}bulk: {settings.rate_limited_events} events under a "
                 f"{settings.rate_limit}/s limit")
    results["bulk_rate_limit"] = measure_bulk_rate_limit(settings)
    return results


def _cell(status: str) -> str:
    """A status for the reference column: one short line, no table syntax."""
    text = status.replace("|", "/").replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def table_rows(summary: dict[str, float], results: dict[str, Any], official_status: str
               ) -> list[analysis.Row]:
    """The table from ``summary``; ``results`` (the last run's) only says why the official
    SDK's column is empty, when it is."""
    imports = results["imports"]["official_status"] if official_status == "ok" else None
    calls = results["official_calls"].get("status") if official_status == "ok" else None
    return analysis.table_rows(
        summary,
        None if imports == "ok" else _cell(imports or official_status),
        None if "official_sdk_wall_us" in summary else _cell(calls or official_status))


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null, so that the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    settings = SMOKE if args.smoke else QUICK if args.quick else FULL
    runs: int = args.runs
    started = time.monotonic()
    meta = {**machine(settings.mode), "runs": runs}
    official, meta["official"] = resolve_official(args)
    official_status = meta["official"]["status"]
    log(started, f"{settings.mode} run{f', {runs} times' if runs > 1 else ''}; "
                 f"official SDK: {official_status}")
    per_run: list[dict[str, Any]] = []
    per_run_result_notes: list[list[str]] = []
    results: dict[str, Any] = {}
    for index in range(runs):
        prefix = f"run {index + 1}/{runs}: " if runs > 1 else ""
        run_started = time.monotonic()
        results = measure(settings, official, started, prefix)
        summary = analysis.summarize(results)
        per_run_result_notes.append(result_notes(results))
        per_run.append({"summary": summary,
                        "notes": per_run_result_notes[-1] + summary_notes(summary),
                        "duration_s": time.monotonic() - run_started,
                        "loadavg_end": list(os.getloadavg())})
        if runs > 1:
            statuses = [row.status for row in table_rows(summary, results, official_status)]
            log(started, f"{prefix}done in {per_run[-1]['duration_s']:.0f} s; this run alone: "
                         f"{statuses.count('PASS')} PASS, {statuses.count('MISS')} MISS")
    summaries = [run["summary"] for run in per_run]
    summary = analysis.combine(summaries) if runs > 1 else summaries[0]
    notes = combined_notes(per_run_result_notes, summary, analysis.partial_keys(summaries))
    rows = table_rows(summary, results, official_status)
    spreads = analysis.across_runs(rows, summaries)
    meta["loadavg_end"] = list(os.getloadavg())
    meta["duration_s"] = time.monotonic() - started
    document = {
        "meta": meta, "settings": settings.as_dict(), "summary": summary,
        "rows": [row.as_dict() for row in rows], "notes": notes, "runs": runs,
        "across_runs": [spread.as_dict() for spread in spreads], "per_run": per_run,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(_json_safe(document), indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(render(meta, rows, notes, spreads))
    sys.stdout.write(f"\nJSON: {args.json}\n")
    return 0
