"""From samples to numbers: medians, ratios to the floors, one row per measurement, and (with
``--runs N``) the median of every number across runs and the spread of each judged one."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

from benchmarks.settings import TARGETS

MS, US, MIB = 1e3, 1e6, 1 / 1024


@dataclass(frozen=True)
class Row:
    """One line of the table: a measurement, its floor, how they compare, and the verdict."""

    section: str
    measurement: str
    value: str
    floor: str
    comparison: str
    target: str
    status: str
    official: str
    target_key: str = ""
    """For a row with a target: its key in ``TARGETS``; empty for ``info`` rows."""
    summary_key: str = ""
    """For a row with a target: the summary number the verdict is on."""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, floor: float) -> float:
    return value / floor if floor else float("nan")


def verdict(target_key: str, number: float) -> str:
    target = TARGETS[target_key]
    if math.isnan(number):  # nothing measured
        return "n/a"
    return "PASS" if target.met(number) else "MISS"


def target_text(target_key: str) -> str:
    target = TARGETS[target_key]
    return target.text if target.source.startswith("issue") else f"{target.text} ({target.source})"


def _paired_net(rounds: list[dict[str, dict[str, float]]], name: str) -> float:
    """The median over rounds of (this command's wall - the same round's ``pass`` wall)."""
    return median([r[name]["wall_s"] - r["pass"]["wall_s"] for r in rounds if name in r])


def import_summary(imports: dict[str, Any]) -> dict[str, float]:
    samples, rounds = imports["samples"], imports["rounds"]
    out: dict[str, float] = {}
    for name in samples:
        out[f"{name}_wall_ms"] = median(samples[name]["wall_s"]) * MS
        out[f"{name}_rss_mib"] = median(samples[name]["rss_kib"]) * MIB
        out[f"{name}_vmhwm_mib"] = median(samples[name]["vmhwm_kib"]) * MIB
        if name != "pass":
            out[f"{name}_net_ms"] = _paired_net(rounds, name) * MS
        out[f"{name}_processes"] = float(len(samples[name]["wall_s"]))
    out["import_wall_ratio"] = ratio(out["import_sdk_wall_ms"], out["import_floor_wall_ms"])
    out["import_net_ratio"] = ratio(out["import_sdk_net_ms"], out["import_floor_net_ms"])
    out["import_rss_diff_mib"] = out["import_sdk_rss_mib"] - out["import_floor_rss_mib"]
    out["first_call_wall_ratio"] = ratio(
        out["first_call_sdk_wall_ms"], out["first_call_floor_wall_ms"]
    )
    out["first_call_rss_diff_mib"] = out["first_call_sdk_rss_mib"] - out["first_call_floor_rss_mib"]
    return out


CALL_KINDS = (("wall", "wall"), ("cpu", "client CPU"))
"""Per-call measurements: the sample key and how the table names it."""


def call_summary(prefix: str, report: dict[str, Any]) -> dict[str, float]:
    """Medians of every contender, and the SDK's ratios to the floor (``{prefix}_wall_ratio``,
    ...) and, when it ran, to urllib3's pool directly (``{prefix}_vs_pool_wall_ratio``, ...)."""
    samples = report["samples"]
    out: dict[str, float] = {}
    for who in samples:
        for kind, _ in CALL_KINDS:
            out[f"{prefix}_{who}_{kind}_us"] = median(samples[who][kind]) * US
    versus = {"floor": prefix, "pool": f"{prefix}_vs_pool"}
    for who, name in versus.items():
        if who not in samples:
            continue
        for kind, _ in CALL_KINDS:
            out[f"{name}_{kind}_ratio"] = ratio(
                out[f"{prefix}_sdk_{kind}_us"], out[f"{prefix}_{who}_{kind}_us"]
            )
            out[f"{name}_{kind}_paired_ratio"] = median(
                [s / f for s, f in zip(samples["sdk"][kind], samples[who][kind]) if f]
            )
    out[f"{prefix}_server_cpu_per_request_us"] = report["server"]["cpu_per_request"] * US
    out[f"{prefix}_server_share"] = ratio(out[f"{prefix}_server_cpu_per_request_us"],
                                          out[f"{prefix}_floor_cpu_us"])
    out[f"{prefix}_rounds"] = float(len(samples["sdk"]["wall"]))
    return out


def bulk_summary(latency: dict[str, Any], limited: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {
        "bulk_ideal_eps": latency["ideal_events_per_second"],
        "bulk_concurrency": float(latency["concurrency"]),
        "bulk_latency_ms": latency["latency_s"] * MS,
    }
    for kind in ("track_events", "threads_floor", "aio_gather", "aio_floor"):
        runs = [run for run in latency["runs"] if run["kind"] == kind]
        out[f"bulk_{kind}_eps"] = median([run["events_per_second"] for run in runs])
        out[f"bulk_{kind}_fraction"] = out[f"bulk_{kind}_eps"] / out["bulk_ideal_eps"]
    out["bulk_track_events_vs_floor"] = ratio(out["bulk_track_events_eps"],
                                              out["bulk_threads_floor_eps"])
    out["bulk_aio_gather_vs_floor"] = ratio(out["bulk_aio_gather_eps"], out["bulk_aio_floor_eps"])
    run = limited["run"]
    out["rate_limit_per_second"] = float(limited["limit_per_second"])
    out["rate_limited_events"] = float(limited["events"])
    out["rate_limited_eps"] = run["events_per_second"]
    out["rate_limited_fraction"] = run["events_per_second"] / limited["limit_per_second"]
    out["rate_limited_best_fraction"] = (
        run["events_per_second"] / limited["best_possible_events_per_second"]
    )
    out["rate_limited_429s"] = float(limited["server_429s"])
    out["rate_limited_sent"] = float(run["sent"])
    return out


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _us(value: float) -> str:
    return f"{value:.0f} µs"


def _mib(value: float) -> str:
    return f"{value:.1f} MiB"


def _times(value: float) -> str:
    return f"x{value:.3f}"


def _signed_mib(value: float) -> str:
    return f"{value:+.1f} MiB"


def _reference(s: dict[str, float], official: Optional[str], name: str, floor_key: str,
               kind: str) -> str:
    """The official SDK's number and how it compares with our floor, or why it is missing."""
    if official is not None:
        return official
    value, floor = s[name], s[floor_key]
    if kind == "ms":
        return f"{_ms(value)} ({_times(ratio(value, floor))})"
    return f"{_mib(value)} ({_signed_mib(value - floor)})"


def import_rows(s: dict[str, float], official: Optional[str]) -> list[Row]:
    """``official``: None when the official SDK ran; otherwise why its column is empty."""
    return [
        Row("import", "`import voucherify`: wall", _ms(s["import_sdk_wall_ms"]),
            "`import pydantic, urllib3`: " + _ms(s["import_floor_wall_ms"]),
            _times(s["import_wall_ratio"]), target_text("import_wall_ratio"),
            verdict("import_wall_ratio", s["import_wall_ratio"]),
            _reference(s, official, "official_import_wall_ms", "import_floor_wall_ms", "ms"),
            "import_wall_ratio", "import_wall_ratio"),
        Row("import", "`import voucherify`: wall - `pass`", _ms(s["import_sdk_net_ms"]),
            _ms(s["import_floor_net_ms"]), _times(s["import_net_ratio"]),
            target_text("import_net_ratio"), verdict("import_net_ratio", s["import_net_ratio"]),
            _reference(s, official, "official_import_net_ms", "import_floor_net_ms", "ms"),
            "import_net_ratio", "import_net_ratio"),
        Row("import", "`import voucherify`: peak RSS", _mib(s["import_sdk_rss_mib"]),
            _mib(s["import_floor_rss_mib"]), _signed_mib(s["import_rss_diff_mib"]),
            target_text("import_rss_diff_mb"),
            verdict("import_rss_diff_mb", s["import_rss_diff_mib"]),
            _reference(s, official, "official_import_rss_mib", "import_floor_rss_mib", "mib"),
            "import_rss_diff_mb", "import_rss_diff_mib"),
        Row("import", "first call in a fresh process: wall", _ms(s["first_call_sdk_wall_ms"]),
            "import floor + one bare urllib3 POST: " + _ms(s["first_call_floor_wall_ms"]),
            _times(s["first_call_wall_ratio"]), "—", "info",
            _reference(s, official, "official_first_call_wall_ms", "first_call_floor_wall_ms",
                       "ms")),
        Row("import", "first call in a fresh process: peak RSS",
            _mib(s["first_call_sdk_rss_mib"]), _mib(s["first_call_floor_rss_mib"]),
            _signed_mib(s["first_call_rss_diff_mib"]), "—", "info",
            _reference(s, official, "official_first_call_rss_mib", "first_call_floor_rss_mib",
                       "mib")),
        Row("import", "`python -c pass` (baseline)",
            f"{_ms(s['pass_wall_ms'])}, {_mib(s['pass_rss_mib'])}", "—", "—", "—", "info", "—"),
    ]


def call_rows(s: dict[str, float], prefix: str, label: str, official: Optional[str],
              target_key: str = "call_ratio") -> list[Row]:
    """``official``: None when the official SDK's per-call numbers are in ``s``
    (``official_sdk_wall_us``, ``official_wall_ratio``, ...); otherwise why they are not.
    ``target_key``: the target in ``TARGETS`` the SDK-vs-floor rows are judged against."""
    rows = []
    for kind, what in CALL_KINDS:
        if official is None:
            theirs = s[f"official_sdk_{kind}_us"]
            ref = f"{_us(theirs)} ({_times(s[f'official_{kind}_ratio'])})"
        else:
            ref = official
        rows.append(Row(
            "per call", f"{label}: {what} per call", _us(s[f"{prefix}_sdk_{kind}_us"]),
            _us(s[f"{prefix}_floor_{kind}_us"]), _times(s[f"{prefix}_{kind}_ratio"]),
            target_text(target_key), verdict(target_key, s[f"{prefix}_{kind}_ratio"]), ref,
            target_key, f"{prefix}_{kind}_ratio",
        ))
    if f"{prefix}_vs_pool_wall_ratio" in s:
        # No target: the floor is the PoolManager one above. This shows what the
        # SDK's own work costs over the lean path its transport takes.
        for kind, what in CALL_KINDS:
            rows.append(Row(
                "per call", f"{label} vs urllib3's connection pool directly "
                f"(`HTTPConnectionPool.urlopen` + `json.loads`): {what} per call",
                _us(s[f"{prefix}_sdk_{kind}_us"]), _us(s[f"{prefix}_pool_{kind}_us"]),
                _times(s[f"{prefix}_vs_pool_{kind}_ratio"]), "—", "info", "—",
            ))
    return rows


def server_row(s: dict[str, float]) -> Row:
    share = s["sync_server_share"]
    return Row(
        "per call", "benchmark server: CPU per request (a raw-socket round trip through it: "
        f"{s['sync_raw_wall_us']:.0f} µs wall)", _us(s["sync_server_cpu_per_request_us"]),
        "sync floor client CPU: " + _us(s["sync_floor_cpu_us"]), f"{share:.2f} of floor",
        target_text("server_share"), verdict("server_share", share), "—",
        "server_share", "sync_server_share",
    )


def bulk_rows(s: dict[str, float]) -> list[Row]:
    c, ms = f"{s['bulk_concurrency']:.0f}", s["bulk_latency_ms"]
    n, events = f"{s['rate_limit_per_second']:.0f}", f"{s['rate_limited_events']:.0f}"

    def latency_row(label: str, kind: str, floor_kind: str, floor_label: str) -> Row:
        versus = s[f"bulk_{kind}_vs_floor"]
        return Row(
            "bulk", f"{label}, C={c}, server latency {ms:.0f} ms",
            f"{s[f'bulk_{kind}_eps']:.0f} ev/s",
            f"ideal C / latency = {s['bulk_ideal_eps']:.0f} ev/s; {floor_label}: "
            f"{s[f'bulk_{floor_kind}_eps']:.0f} ev/s "
            f"({s[f'bulk_{floor_kind}_fraction']:.2f} of ideal)",
            f"{s[f'bulk_{kind}_fraction']:.2f} of ideal; {_times(versus)} bare",
            target_text("bulk_vs_floor"), verdict("bulk_vs_floor", versus), "—",
            "bulk_vs_floor", f"bulk_{kind}_vs_floor",
        )

    return [
        latency_row("`track_events`", "track_events", "threads_floor", "bare urllib3 threads"),
        latency_row(f"aio `gather` + `Semaphore({c})`", "aio_gather", "aio_floor",
                    "bare aiohttp gather"),
        Row("bulk", f"`track_events`, {events} events, stand-in limit {n}/1 s",
            f"{s['rate_limited_eps']:.0f} ev/s", f"N = {n} ev/s",
            f"{s['rate_limited_fraction']:.2f} of N "
            f"({s['rate_limited_best_fraction']:.2f} of best possible)",
            target_text("rate_fraction"), verdict("rate_fraction", s["rate_limited_fraction"]),
            "—", "rate_fraction", "rate_limited_fraction"),
        Row("bulk", "429s the rate-limited stand-in sent", f"{s['rate_limited_429s']:.0f}",
            "0", "—", target_text("rate_429s"), verdict("rate_429s", s["rate_limited_429s"]),
            "—", "rate_429s", "rate_limited_429s"),
    ]


def _finite(value: Any) -> Optional[float]:
    """``value`` as a float, or None when it is not a number or is NaN / infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _values(summaries: list[dict[str, float]], key: str) -> list[float]:
    """``key``'s number in each run that measured it (missing or NaN: skipped)."""
    found = (_finite(summary.get(key)) for summary in summaries)
    return [value for value in found if value is not None]


def combine(summaries: list[dict[str, float]]) -> dict[str, float]:
    """The median across runs of every number of the per-run summaries.

    A key that a run lacks, or that is NaN in it, counts only in the runs that have it; a key
    no run has a number for is NaN. Keys keep the order in which the runs first name them.
    Ratios are medians of per-run ratios, not ratios of the combined medians."""
    keys = list(dict.fromkeys(key for summary in summaries for key in summary))
    return {key: median(_values(summaries, key)) for key in keys}


def partial_keys(summaries: list[dict[str, float]]) -> dict[str, int]:
    """Keys that have a number in some runs but not all, and in how many."""
    keys = dict.fromkeys(key for summary in summaries for key in summary)
    counts = {key: len(_values(summaries, key)) for key in keys}
    return {key: count for key, count in counts.items() if 0 < count < len(summaries)}


FORMATS: dict[str, Callable[[float], str]] = {
    "import_wall_ratio": _times,
    "import_net_ratio": _times,
    "import_rss_diff_mb": _signed_mib,
    "call_ratio": _times,
    "aio_call_ratio": _times,
    "bulk_vs_floor": _times,
    "rate_fraction": lambda value: f"{value:.3f}",
    "rate_429s": lambda value: f"{value:.0f}",
    "server_share": lambda value: f"{value:.3f}",
}
"""How the "Across N runs" section writes the number each target is on: with one more
decimal than the table, so that a value just past its limit (0.2504 against <= 0.25) does not
print as the limit itself."""


def formatted(target_key: str, value: float) -> str:
    return FORMATS[target_key](value)


@dataclass(frozen=True)
class Spread:
    """How one judged number varied across runs, and how many runs met its target."""

    measurement: str
    target_key: str
    summary_key: str
    low: float
    median: float
    high: float
    met: int
    """Runs whose own number met the target."""
    measured: int
    """Runs that have a number for it."""
    runs: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def across_runs(rows: list[Row], summaries: list[dict[str, float]]) -> list[Spread]:
    """For every row with a verdict (PASS or MISS): min, median and max of its number over
    the per-run summaries, and how many of them met the target."""
    spreads = []
    for row in rows:
        if row.status not in ("PASS", "MISS") or not row.summary_key:
            continue
        values = _values(summaries, row.summary_key)
        if not values:
            continue
        target = TARGETS[row.target_key]
        spreads.append(Spread(
            row.measurement, row.target_key, row.summary_key, min(values), median(values),
            max(values), sum(1 for value in values if target.met(value)), len(values),
            len(summaries),
        ))
    return spreads
