"""The machine's description, the notes worth a look, and the table, as text."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from typing import Any, Optional

from benchmarks.analysis import BULK_KINDS, Row, Spread
from benchmarks.measure import REPO
from benchmarks.settings import TARGETS

COLUMNS = ("measurement", "SDK", "floor", "SDK vs floor", "target", "status")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git() -> dict[str, Any]:
    try:
        described = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"],
                                   cwd=REPO, capture_output=True, text=True, timeout=10,
                                   check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": described.removesuffix("-dirty"), "dirty": described.endswith("-dirty")}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(mode: str) -> dict[str, Any]:
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": mode,
        "nproc": len(affinity) if affinity is not None else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "loadavg_start": list(os.getloadavg()),
        "git": _git(),
        "versions": {name: _version(name) for name in ("urllib3", "pydantic", "aiohttp")},
    }


def render(meta: dict[str, Any], rows: list[Row], notes: list[str],
           spreads: Optional[list[Spread]] = None) -> str:
    """The table; with more than one run, ``spreads`` (analysis.across_runs) under it."""
    official = meta.get("official", {})
    reference = f"official {official.get('version', '')} (reference)".replace("  ", " ")
    header = (*COLUMNS, reference)
    git = meta["git"]
    runs = meta.get("runs", 1)
    what = f"{meta['mode']} run" if runs == 1 else f"{meta['mode']} mode, median of {runs} runs"
    took = (f"run took {meta.get('duration_s', 0.0):.0f} s" if runs == 1 else
            f"{runs} runs took {meta.get('duration_s', 0.0):.0f} s in all; every number in the "
            "table is the median of its values across runs")
    lines = [
        f"## voucherify benchmarks: {what}, {meta['date']}",
        "",
        f"- machine: nproc {meta['nproc']} ({meta['cpu_model']}), {meta['platform']}, "
        f"load average {meta['loadavg_start'][0]:.2f} at start, "
        f"{meta.get('loadavg_end', [0.0])[0]:.2f} at end",
        f"- python {meta['python']} ({meta['executable']}); urllib3 "
        f"{meta['versions']['urllib3']}, pydantic {meta['versions']['pydantic']}, aiohttp "
        f"{meta['versions']['aiohttp']}",
        f"- commit {git['commit']}{' + uncommitted changes' if git['dirty'] else ''}; {took}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    section = ""
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append(f"| **{section}** |" + " |" * (len(header) - 1))
        cells = (row.measurement, row.value, row.floor, row.comparison, row.target,
                 f"**{row.status}**" if row.status == "MISS" else row.status, row.official)
        lines.append("| " + " | ".join(cells) + " |")
    verdicts = [row.status for row in rows]
    lines += ["", f"{verdicts.count('PASS')} PASS, {verdicts.count('MISS')} MISS "
              f"(targets marked `harness` or `test_bulk.py` are not from issue 7)."]
    if runs > 1 and spreads is not None:
        lines += ["", *render_spreads(spreads, runs)]
    if notes:
        lines += ["", "Notes:"] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def render_spreads(spreads: list[Spread], runs: int) -> list[str]:
    """The "Across N runs" section: min / median / max of each judged number, and how many
    runs met the target (the table's status is the verdict on the median)."""
    lines = [f"Across {runs} runs (min / median / max; the status above is on the median):", ""]
    for spread in spreads:
        target = TARGETS[spread.target_key]
        low, middle, high = (target.shown.format(value)
                             for value in (spread.low, spread.median, spread.high))
        measured = "" if spread.measured == spread.runs else f", measured in {spread.measured}"
        label = re.sub(r" \([^()]*\)$", "", spread.measurement)  # the table has the details
        lines.append(f"- {label}: {low} / {middle} / {high} ({spread.met} of {spread.runs} "
                     f"runs met {target.text}{measured})")
    return lines


def _not_same(who: str, calls: dict[str, Any]) -> list[str]:
    """A note for each urllib3 contender that did not send the SDK's request byte for byte."""
    checks = {"same_request": "the floor", "same_request_pool": "the connection pool"}
    return [f"{who}: {what} did NOT send the same request as the SDK"
            for key, what in checks.items() if not calls.get(key, True)]


def result_notes(results: dict[str, Any]) -> list[str]:
    """The notes that come from one run's raw results (requests, connections, failures)."""
    notes: list[str] = []
    calls = results["calls"]
    for mode in ("sync", "aio"):
        notes += _not_same(mode, calls[mode])
    bulk = results["bulk_latency"]
    for kind in BULK_KINDS:
        runs = [run for run in bulk["runs"] if run["kind"] == kind]
        opened = max((run["connections"] or 0 for run in runs), default=0)
        warned = max((run["pool_full_warnings"] for run in runs), default=0)
        if warned or opened > bulk["concurrency"]:
            notes.append(
                f"bulk {kind}: up to {opened} connections opened per run for "
                f"C={bulk['concurrency']}, up to {warned} urllib3 'Connection pool is full, "
                "discarding connection' warnings per run (the default "
                "connection_pool_maxsize is cpu_count * 5)"
            )
    limited = results["bulk_rate_limit"]
    warnings = limited["run"]["pool_full_warnings"]
    if warnings:
        notes.append(f"rate-limited track_events: {warnings} urllib3 'pool is full' warnings")
    if limited["server_recorded_events"] != limited["run"]["sent"]:
        notes.append(
            f"rate-limited run: the stand-in recorded {limited['server_recorded_events']} "
            f"events, track_events reports {limited['run']['sent']} sent"
        )
    failed = sum(run["failed"] for run in bulk["runs"]) + limited["run"]["failed"]
    if failed:
        notes.append(f"bulk: {failed} events were not sent successfully")
    official = results["official_calls"]
    if official.get("status") == "ok":
        notes += _not_same("official", official)
    return notes


def summary_notes(summary: dict[str, float]) -> list[str]:
    """The notes that come from the summary's numbers (one run's, or the medians)."""
    notes: list[str] = []
    if summary.get("sync_server_share", 0.0) > 0.25:
        notes.append("the benchmark server is not much faster than the floor client here: "
                     "per-call wall ratios are diluted toward 1")
    raw_share = summary["sync_raw_wall_us"] / summary["sync_floor_wall_us"]
    notes.append(
        f"a raw-socket round trip through the server takes {raw_share:.0%} of the floor's "
        "wall time per call; that part is the same for SDK and floor, so wall ratios are "
        "closer to 1 than CPU ratios"
    )
    return notes


def _which_runs(indexes: list[int], runs: int) -> str:
    if len(indexes) == runs:
        return f"every one of the {runs} runs"
    numbers = [str(index + 1) for index in indexes]
    listed = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
    return f"run{'s' if len(numbers) > 1 else ''} {listed} of {runs}"


def combined_notes(per_run_result_notes: list[list[str]], summary: dict[str, float],
                   partial: dict[str, int]) -> list[str]:
    """The notes of the table: each run's result notes once (with several runs, saying which
    runs had it), then the notes on the (median) summary, then which numbers some runs lack."""
    runs = len(per_run_result_notes)
    seen: dict[str, list[int]] = {}
    for index, notes in enumerate(per_run_result_notes):
        for note in notes:
            seen.setdefault(note, []).append(index)
    out = [note if runs == 1 else f"{note} ({_which_runs(indexes, runs)})"
           for note, indexes in seen.items()]
    out += summary_notes(summary)
    if partial:
        listed = ", ".join(f"{key} ({count})" for key, count in list(partial.items())[:6])
        more = f" and {len(partial) - 6} more" if len(partial) > 6 else ""
        out.append(f"{len(partial)} numbers were measured in only some of the {runs} runs; "
                   f"their medians are over those runs: {listed}{more}")
    return out
