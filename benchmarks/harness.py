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
from benchmarks.children import REPO, ChildError, Interpreter, official_sdk, run
from benchmarks.imports import measure_imports
from benchmarks.report import (
    combined_notes,
    machine,
    notes_for,
    render,
    result_notes,
    summary_notes,
)
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


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return number


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
    parser.add_argument("--runs", type=_positive, default=1, metavar="N",
                        help="measure everything N times in a row and report each number's "
                             "median across the runs, with the spread of each judged one "
                             "(default 1; the README's table uses 5)")
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


def measure(settings: Settings, official: Optional[Interpreter], started: float,
            prefix: str = "") -> dict[str, Any]:
    """Every workload once. ``prefix``: put before every log line ("run 2/5: ")."""
    results: dict[str, Any] = {}
    with ServerProcess() as server:
        log(started, f"{prefix}imports: {settings.import_rounds} rounds of fresh processes")
        results["imports"] = measure_imports(settings, server, official)
        log(started, f"{prefix}per call: sync and aio, interleaved with their floors")
        results["calls"] = measure_calls(settings, server)
        if official is not None:
            log(started, f"{prefix}per call: the official SDK")
            results["official_calls"] = measure_official_calls(settings, server, official)
        else:
            results["official_calls"] = {"status": "skipped"}
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


def summarize(results: dict[str, Any]) -> dict[str, float]:
    """One run's numbers, flat."""
    summary = analysis.import_summary(results["imports"])
    summary.update(analysis.call_summary("sync", results["calls"]["sync"]))
    summary.update(analysis.call_summary("aio", results["calls"]["aio"]))
    official_calls = results["official_calls"]
    if official_calls.get("status") == "ok":
        summary.update(analysis.call_summary("official", official_calls))
    summary.update(analysis.bulk_summary(results["bulk_latency"], results["bulk_rate_limit"]))
    return summary


def table_rows(summary: dict[str, float], results: dict[str, Any], official_status: str
               ) -> list[analysis.Row]:
    """The table from ``summary`` (one run's, or the medians across runs). Every number shown
    comes from ``summary``; ``results`` (the last run's) only says why the official SDK's
    column is empty, when it is."""
    import_status = _cell(
        results["imports"]["official_status"] if official_status == "ok" else official_status
    )
    official_calls = "official_sdk_wall_us" in summary
    calls_status = None if official_calls else _cell(
        results["official_calls"].get("status", "skipped") if official_status == "ok"
        else official_status
    )
    rows = analysis.import_rows(summary, None if import_status == "ok" else import_status)
    rows += analysis.call_rows(summary, "sync", "sync `track_custom_event`", calls_status)
    rows += analysis.call_rows(summary, "aio", "aio `track_custom_event`",
                               "n/a (no async client)", target_key="aio_call_ratio")
    rows.append(analysis.server_row(summary))
    rows += analysis.bulk_rows(summary)
    return rows


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


def _verdicts(rows: list[analysis.Row]) -> str:
    statuses = [row.status for row in rows]
    return f"{statuses.count('PASS')} PASS, {statuses.count('MISS')} MISS"


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    _stop_on_sigterm()
    settings = SMOKE if args.smoke else QUICK if args.quick else FULL
    runs: int = args.runs
    started = time.monotonic()
    meta = machine(settings.mode)
    meta["runs"] = runs
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
        summary = summarize(results)
        per_run_result_notes.append(result_notes(results))
        per_run.append({
            "summary": summary,
            "notes": per_run_result_notes[-1] + summary_notes(summary),
            "duration_s": time.monotonic() - run_started,
            "loadavg_end": list(os.getloadavg()),
        })
        if runs > 1:
            verdicts = _verdicts(table_rows(summary, results, official_status))
            log(started, f"{prefix}done in {per_run[-1]['duration_s']:.0f} s; this run alone: "
                         f"{verdicts}")
    summaries = [run["summary"] for run in per_run]
    if runs == 1:
        summary, notes = summaries[0], notes_for(results, summaries[0])
    else:
        summary = analysis.combine(summaries)
        notes = combined_notes(per_run_result_notes, summary, analysis.partial_keys(summaries))
    rows = table_rows(summary, results, official_status)
    spreads = analysis.across_runs(rows, summaries)
    meta["loadavg_end"] = list(os.getloadavg())
    meta["duration_s"] = time.monotonic() - started
    document = {
        "meta": meta,
        "settings": settings.as_dict(),
        "summary": summary,
        "rows": [row.as_dict() for row in rows],
        "notes": notes,
        "runs": runs,
        "across_runs": [spread.as_dict() for spread in spreads],
        "per_run": per_run,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(_json_safe(document), indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(render(meta, rows, notes, spreads))
    sys.stdout.write(f"\nJSON: {args.json}\n")
    return 0
