"""From samples to numbers: medians, ratios to the floors, one row per measurement, and (with
``--runs N``) the median of every number across runs and the spread of each judged one."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Optional

from benchmarks.settings import TARGETS

MS, US, MIB = 1e3, 1e6, 1 / 1024
CALL_KINDS = (("wall", "wall"), ("cpu", "client CPU"))
"""Per-call measurements: the sample key and how the table names it."""
BULK_KINDS = ("track_events", "threads_floor", "aio_gather", "aio_floor")


@dataclass(frozen=True)
class Row:
    """One line of the table: a measurement, its floor, how they compare, and the verdict.
    A row with a target names it (``target_key``, a key of ``TARGETS``) and the summary
    number its verdict is on (``summary_key``); both are empty for ``info`` rows."""

    section: str
    measurement: str
    value: str
    floor: str
    comparison: str
    target: str
    status: str
    official: str
    target_key: str = ""
    summary_key: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, floor: float) -> float:
    return value / floor if floor else float("nan")


def verdict(target_key: str, number: float) -> str:
    if math.isnan(number):  # nothing measured
        return "n/a"
    return "PASS" if TARGETS[target_key].met(number) else "MISS"


def import_summary(imports: dict[str, Any]) -> dict[str, float]:
    samples, rounds = imports["samples"], imports["rounds"]
    out: dict[str, float] = {}
    for name, sample in samples.items():
        out[f"{name}_wall_ms"] = median(sample["wall_s"]) * MS
        out[f"{name}_rss_mib"] = median(sample["rss_kib"]) * MIB
        out[f"{name}_vmhwm_mib"] = median(sample["vmhwm_kib"]) * MIB
        if name != "pass":  # this command's wall minus the same round's `pass` wall
            out[f"{name}_net_ms"] = median([r[name]["wall_s"] - r["pass"]["wall_s"]
                                            for r in rounds if name in r]) * MS
        out[f"{name}_processes"] = float(len(sample["wall_s"]))
    out["import_wall_ratio"] = ratio(out["import_sdk_wall_ms"], out["import_floor_wall_ms"])
    out["import_net_ratio"] = ratio(out["import_sdk_net_ms"], out["import_floor_net_ms"])
    out["import_rss_diff_mib"] = out["import_sdk_rss_mib"] - out["import_floor_rss_mib"]
    out["first_call_wall_ratio"] = ratio(out["first_call_sdk_wall_ms"],
                                         out["first_call_floor_wall_ms"])
    out["first_call_rss_diff_mib"] = out["first_call_sdk_rss_mib"] - out["first_call_floor_rss_mib"]
    return out


def call_summary(prefix: str, report: dict[str, Any]) -> dict[str, float]:
    """Medians of every contender, and the SDK's ratios to the floor (``{prefix}_wall_ratio``,
    ...) and, when it ran, to urllib3's pool directly (``{prefix}_vs_pool_wall_ratio``, ...);
    ``*_paired_ratio``: the median of per-round ratios."""
    samples = report["samples"]
    out = {f"{prefix}_{who}_{kind}_us": median(samples[who][kind]) * US
           for who in samples for kind, _ in CALL_KINDS}
    for who, name in (("floor", prefix), ("pool", f"{prefix}_vs_pool")):
        for kind, _ in CALL_KINDS if who in samples else ():
            out[f"{name}_{kind}_ratio"] = ratio(out[f"{prefix}_sdk_{kind}_us"],
                                                out[f"{prefix}_{who}_{kind}_us"])
            out[f"{name}_{kind}_paired_ratio"] = median(
                [s / f for s, f in zip(samples["sdk"][kind], samples[who][kind]) if f])
    out[f"{prefix}_server_cpu_per_request_us"] = report["server"]["cpu_per_request"] * US
    out[f"{prefix}_server_share"] = ratio(out[f"{prefix}_server_cpu_per_request_us"],
                                          out[f"{prefix}_floor_cpu_us"])
    out[f"{prefix}_rounds"] = float(len(samples["sdk"]["wall"]))
    return out


def bulk_summary(latency: dict[str, Any], limited: dict[str, Any]) -> dict[str, float]:
    ideal = latency["ideal_events_per_second"]
    out: dict[str, float] = {"bulk_ideal_eps": ideal,
                             "bulk_concurrency": float(latency["concurrency"]),
                             "bulk_latency_ms": latency["latency_s"] * MS}
    for kind in BULK_KINDS:
        out[f"bulk_{kind}_eps"] = median([run["events_per_second"] for run in latency["runs"]
                                          if run["kind"] == kind])
        out[f"bulk_{kind}_fraction"] = out[f"bulk_{kind}_eps"] / ideal
    out["bulk_track_events_vs_floor"] = ratio(out["bulk_track_events_eps"],
                                              out["bulk_threads_floor_eps"])
    out["bulk_aio_gather_vs_floor"] = ratio(out["bulk_aio_gather_eps"], out["bulk_aio_floor_eps"])
    run, limit = limited["run"], limited["limit_per_second"]
    out.update({
        "rate_limit_per_second": float(limit),
        "rate_limited_events": float(limited["events"]),
        "rate_limited_eps": run["events_per_second"],
        "rate_limited_fraction": run["events_per_second"] / limit,
        "rate_limited_best_fraction": (run["events_per_second"]
                                       / limited["best_possible_events_per_second"]),
        "rate_limited_429s": float(limited["server_429s"]),
        "rate_limited_sent": float(run["sent"]),
    })
    return out


def summarize(results: dict[str, Any]) -> dict[str, float]:
    """One run's numbers, flat, units in the names."""
    summary = import_summary(results["imports"])
    summary.update(call_summary("sync", results["calls"]["sync"]))
    summary.update(call_summary("aio", results["calls"]["aio"]))
    if results["official_calls"].get("status") == "ok":
        summary.update(call_summary("official", results["official_calls"]))
    summary.update(bulk_summary(results["bulk_latency"], results["bulk_rate_limit"]))
    return summary


def _values(summaries: list[dict[str, float]], key: str) -> list[float]:
    """``key``'s number in each run that measured it (missing or NaN: skipped)."""
    found = [summary.get(key) for summary in summaries]
    return [float(value) for value in found if isinstance(value, (int, float))
            and not isinstance(value, bool) and math.isfinite(value)]


def combine(summaries: list[dict[str, float]]) -> dict[str, float]:
    """The median across runs of every number of the per-run summaries: a number counts only
    in the runs that have it (NaN if none does), keys keep the order the runs first name
    them. Ratios are medians of per-run ratios, not ratios of the combined medians."""
    keys = dict.fromkeys(key for summary in summaries for key in summary)
    return {key: median(_values(summaries, key)) for key in keys}


def partial_keys(summaries: list[dict[str, float]]) -> dict[str, int]:
    """Keys that have a number in some runs but not all, and in how many."""
    keys = dict.fromkeys(key for summary in summaries for key in summary)
    counts = {key: len(_values(summaries, key)) for key in keys}
    return {key: count for key, count in counts.items() if 0 < count < len(summaries)}


@dataclass(frozen=True)
class Spread:
    """How one judged number varied across runs: ``met``, how many runs' own number met the
    target; ``measured``, how many runs have a number for it."""

    measurement: str
    target_key: str
    summary_key: str
    low: float
    median: float
    high: float
    met: int
    measured: int
    runs: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def across_runs(rows: list[Row], summaries: list[dict[str, float]]) -> list[Spread]:
    """For every row with a verdict (PASS or MISS): min, median and max of its number over
    the per-run summaries, and how many of them met the target."""
    spreads = []
    for row in rows:
        values = _values(summaries, row.summary_key) if row.status in ("PASS", "MISS") else []
        if values:
            met = sum(TARGETS[row.target_key].met(value) for value in values)
            spreads.append(Spread(row.measurement, row.target_key, row.summary_key,
                                  min(values), median(values), max(values), met, len(values),
                                  len(summaries)))
    return spreads


def _ms(value: float) -> str:
    return f"{value:.1f} ms"


def _us(value: float) -> str:
    return f"{value:.0f} µs"


def _mib(value: float, sign: str = "") -> str:
    return f"{value:{sign}.1f} MiB"


def _times(value: float) -> str:
    return f"x{value:.3f}"


def _judged(section: str, measurement: str, value: str, floor: str, comparison: str,
            official: str, target_key: str, summary_key: str, number: float) -> Row:
    return Row(section, measurement, value, floor, comparison, TARGETS[target_key].label,
               verdict(target_key, number), official, target_key, summary_key)


def import_rows(s: dict[str, float], official: Optional[str]) -> list[Row]:
    """``official``: None when the official SDK ran; otherwise why its column is empty."""

    def reference(name: str, floor: str, mib: bool = False) -> str:
        if official is not None:
            return official
        value = s[f"official_{name}"]
        if mib:
            return f"{_mib(value)} ({_mib(value - s[floor], '+')})"
        return f"{_ms(value)} ({_times(ratio(value, s[floor]))})"

    return [
        _judged("import", "`import voucherify`: wall", _ms(s["import_sdk_wall_ms"]),
                "`import pydantic, urllib3`: " + _ms(s["import_floor_wall_ms"]),
                _times(s["import_wall_ratio"]),
                reference("import_wall_ms", "import_floor_wall_ms"),
                "import_wall_ratio", "import_wall_ratio", s["import_wall_ratio"]),
        _judged("import", "`import voucherify`: wall - `pass`", _ms(s["import_sdk_net_ms"]),
                _ms(s["import_floor_net_ms"]), _times(s["import_net_ratio"]),
                reference("import_net_ms", "import_floor_net_ms"),
                "import_net_ratio", "import_net_ratio", s["import_net_ratio"]),
        _judged("import", "`import voucherify`: peak RSS", _mib(s["import_sdk_rss_mib"]),
                _mib(s["import_floor_rss_mib"]), _mib(s["import_rss_diff_mib"], "+"),
                reference("import_rss_mib", "import_floor_rss_mib", mib=True),
                "import_rss_diff_mb", "import_rss_diff_mib", s["import_rss_diff_mib"]),
        Row("import", "first call in a fresh process: wall", _ms(s["first_call_sdk_wall_ms"]),
            "import floor + one bare urllib3 POST: " + _ms(s["first_call_floor_wall_ms"]),
            _times(s["first_call_wall_ratio"]), "—", "info",
            reference("first_call_wall_ms", "first_call_floor_wall_ms")),
        Row("import", "first call in a fresh process: peak RSS",
            _mib(s["first_call_sdk_rss_mib"]), _mib(s["first_call_floor_rss_mib"]),
            _mib(s["first_call_rss_diff_mib"], "+"), "—", "info",
            reference("first_call_rss_mib", "first_call_floor_rss_mib", mib=True)),
        Row("import", "`python -c pass` (baseline)",
            f"{_ms(s['pass_wall_ms'])}, {_mib(s['pass_rss_mib'])}", "—", "—", "—", "info", "—"),
    ]


def call_rows(s: dict[str, float], prefix: str, label: str, official: Optional[str],
              target_key: str = "call_ratio") -> list[Row]:
    """``official``: None when the official SDK's per-call numbers are in ``s``
    (``official_sdk_wall_us``, ``official_wall_ratio``, ...); otherwise why they are not.
    The rows against urllib3's pool directly have no target (the issue's floor is the
    ``PoolManager`` one): they show what the SDK's own work costs over the lean path its
    transport takes."""
    rows = []
    for kind, what in CALL_KINDS:
        key = f"{prefix}_{kind}_ratio"
        ref = official or (f"{_us(s[f'official_sdk_{kind}_us'])} "
                           f"({_times(s[f'official_{kind}_ratio'])})")
        rows.append(_judged("per call", f"{label}: {what} per call",
                            _us(s[f"{prefix}_sdk_{kind}_us"]), _us(s[f"{prefix}_floor_{kind}_us"]),
                            _times(s[key]), ref, target_key, key, s[key]))
    for kind, what in CALL_KINDS if f"{prefix}_vs_pool_wall_ratio" in s else ():
        rows.append(Row(
            "per call", f"{label} vs urllib3's connection pool directly "
            f"(`HTTPConnectionPool.urlopen` + `json.loads`): {what} per call",
            _us(s[f"{prefix}_sdk_{kind}_us"]), _us(s[f"{prefix}_pool_{kind}_us"]),
            _times(s[f"{prefix}_vs_pool_{kind}_ratio"]), "—", "info", "—"))
    return rows


def server_row(s: dict[str, float]) -> Row:
    share = s["sync_server_share"]
    return _judged("per call", "benchmark server: CPU per request (a raw-socket round trip "
                   f"through it: {s['sync_raw_wall_us']:.0f} µs wall)",
                   _us(s["sync_server_cpu_per_request_us"]),
                   "sync floor client CPU: " + _us(s["sync_floor_cpu_us"]),
                   f"{share:.2f} of floor", "—", "server_share", "sync_server_share", share)


def bulk_rows(s: dict[str, float]) -> list[Row]:
    c, ms = f"{s['bulk_concurrency']:.0f}", s["bulk_latency_ms"]
    n, events = f"{s['rate_limit_per_second']:.0f}", f"{s['rate_limited_events']:.0f}"

    def latency_row(label: str, kind: str, floor_kind: str, floor_label: str) -> Row:
        versus = s[f"bulk_{kind}_vs_floor"]
        return _judged(
            "bulk", f"{label}, C={c}, server latency {ms:.0f} ms",
            f"{s[f'bulk_{kind}_eps']:.0f} ev/s",
            f"ideal C / latency = {s['bulk_ideal_eps']:.0f} ev/s; {floor_label}: "
            f"{s[f'bulk_{floor_kind}_eps']:.0f} ev/s "
            f"({s[f'bulk_{floor_kind}_fraction']:.2f} of ideal)",
            f"{s[f'bulk_{kind}_fraction']:.2f} of ideal; {_times(versus)} bare", "—",
            "bulk_vs_floor", f"bulk_{kind}_vs_floor", versus)

    return [
        latency_row("`track_events`", "track_events", "threads_floor", "bare urllib3 threads"),
        latency_row(f"aio `gather` + `Semaphore({c})`", "aio_gather", "aio_floor",
                    "bare aiohttp gather"),
        _judged("bulk", f"`track_events`, {events} events, stand-in limit {n}/1 s",
                f"{s['rate_limited_eps']:.0f} ev/s", f"N = {n} ev/s",
                f"{s['rate_limited_fraction']:.2f} of N "
                f"({s['rate_limited_best_fraction']:.2f} of best possible)", "—",
                "rate_fraction", "rate_limited_fraction", s["rate_limited_fraction"]),
        _judged("bulk", "429s the rate-limited stand-in sent", f"{s['rate_limited_429s']:.0f}",
                "0", "—", "—", "rate_429s", "rate_limited_429s", s["rate_limited_429s"]),
    ]


def table_rows(s: dict[str, float], import_official: Optional[str],
               calls_official: Optional[str]) -> list[Row]:
    """The table from ``s`` (one run's summary, or the medians across runs). The two
    ``*_official`` say why the reference column is empty, or are None when it is not."""
    return [
        *import_rows(s, import_official),
        *call_rows(s, "sync", "sync `track_custom_event`", calls_official),
        *call_rows(s, "aio", "aio `track_custom_event`", "n/a (no async client)",
                   target_key="aio_call_ratio"),
        server_row(s),
        *bulk_rows(s),
    ]
